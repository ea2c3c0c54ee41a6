package nurture_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ada@example.com", "ada@example.com", true},
		{"  Ada@EXAMPLE.com ", "Ada@example.com", true},
		{"", "", false},
		{"ada", "", false},
		{"ada@localhost", "", false},
		{"Ada <ada@example.com>", "", false},
		{"a@example.com, b@example.com", "", false},
		{"ada@example.com\r\nBcc: x@evil.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	}
	for _, tt := range tests {
		got, err := nurture.NormalizeEmail(tt.in)
		if !tt.ok {
			require.Error(t, err, tt.in)
			require.Equal(t, "email", nurture.FieldOf(err))
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
	}
}

func TestCheckLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"Ada Byron", true},
		{"Zoë Ærø 李", true},
		{"", true},
		{"0123456789", true},
		{"01234567890", false}, // 11 characters
		{"Ada\rLovelace", false},
		{"Ada\nLovelace", false},
		{"Ada\tLovelace", false},
		{"Ada\x00", false},
		{"Ada\x1b[31m", false},
		{"Ada\u007f", false},
		{"Ada\u0085", false},
		{"Ada\u009f", false},
		{"Ada\u2028", false},
		{"Ada\u2029", false},
		{"Ada\u00a0L", true}, // a no-break space is text
		{"éééééééééé", true}, // 10 characters in 20 bytes
	}
	for _, tt := range tests {
		err := nurture.CheckLine("traits.x", tt.in, 10)
		if tt.ok {
			require.NoError(t, err, "%q", tt.in)
			continue
		}
		require.Error(t, err, "%q", tt.in)
		require.Equal(t, "traits.x", nurture.FieldOf(err))
		require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
	}
}

func TestNormalizeTeamSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"42", "42", true},
		{" 11 - 50 ", "11-50", true},
		{"1000+", "1000+", true},
		{"0", "0", true},
		{"lots", "", false},
		{"50-11", "", false},
		{"11-", "", false},
		{"-5", "", false},
		{"11.5", "", false},
		{"+", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := nurture.NormalizeTeamSize(tt.in)
		if !tt.ok {
			require.Error(t, err, "%q", tt.in)
			require.Equal(t, "team_size", nurture.FieldOf(err))
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		require.Equal(t, tt.want, got)
	}
}

func TestCheckAttribute(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", nurture.MaxAttributeText+1)
	tests := []struct {
		name      string
		key       string
		value     any
		wantField string // empty: accepted
	}{
		{name: "short text", key: "plan", value: "pro"},
		{name: "number", key: "seats", value: 3.0},
		{name: "text at the limit", key: "bio", value: strings.Repeat("é", nurture.MaxAttributeText)},
		{name: "long text", key: "bio", value: long, wantField: "traits.bio"},
		{name: "long text in a list", key: "bio", value: []any{"x", long}, wantField: "traits.bio[1]"},
		{name: "long text in a map", key: "address", value: map[string]any{"street": long}, wantField: "traits.address.street"},
		{name: "name at the limit", key: strings.Repeat("k", nurture.MaxAttributeKey), value: 1.0},
		{name: "long name", key: strings.Repeat("k", nurture.MaxAttributeKey+1), value: 1.0, wantField: "traits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := nurture.CheckAttribute("traits", tt.key, tt.value)
			if tt.wantField == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
			require.Equal(t, tt.wantField, nurture.FieldOf(err))
		})
	}
}

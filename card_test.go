package nurture_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestMaskCard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" when the value must be left alone
	}{
		{"4242424242424242", "**** 4242"},
		{"4242 4242 4242 4242", "**** 4242"},
		{"4242-4242-4242-4242", "**** 4242"},
		{"378282246310005", "**** 0005"},  // Amex, 15 digits
		{"6011111111111117", "**** 1117"}, // Discover
		{"4222222222222", "**** 2222"},    // 13-digit Visa
		{"6250941006528599", "**** 8599"}, // UnionPay 16
		{"4242424242424241", ""},          // fails Luhn
		{"424242424242", ""},              // 12 digits
		{"42424242424242424242", ""},      // 20 digits
		{"+1 415 555 0100", ""},           // a phone number
		{"2026-11-29", ""},                // a date
		{" 4242424242424242", ""},         // leading separator handled by callers' trim
		{"4242424242424242x", ""},         // not only digits
		{"order 4242424242424242", ""},    // free text is not a card value
		{"0000000000000", "**** 0000"},    // Luhn-valid zeros: masked, better safe
		{"--4242424242424242", ""},        // separators must be inside
	}
	for _, tt := range tests {
		got, ok := nurture.MaskCard(tt.in)
		require.Equal(t, tt.want != "", ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestScrubCardsEverywhereInAPayload(t *testing.T) {
	t.Parallel()
	raw := `{"card":"4242 4242 4242 4242","nested":{"list":["x", 4242424242424242, {"pan":"378282246310005"}]},"ok":"hello","n":12}`
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	out, changed := nurture.ScrubCards(v)
	require.True(t, changed)
	data, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"card":"**** 4242","nested":{"list":["x","**** 4242",{"pan":"**** 0005"}]},"ok":"hello","n":12}`, string(data))
	require.False(t, bytes.Contains(data, []byte("4242424242424242")))
}

func FuzzScrubCards(f *testing.F) {
	f.Add(`{"card":"4242 4242 4242 4242"}`)
	f.Add(`[4242424242424242, "6011-1111-1111-1117", {"a": {"b": ["378282246310005"]}}]`)
	f.Add(`"plain"`)
	f.Fuzz(func(t *testing.T, raw string) {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		out, _ := nurture.ScrubCards(v)
		// Nothing that still looks like a card survives.
		var check func(any)
		check = func(v any) {
			switch v := v.(type) {
			case string:
				if _, ok := nurture.MaskCard(strings.TrimSpace(v)); ok {
					t.Fatalf("card-like value %q survived", v)
				}
			case json.Number:
				if _, ok := nurture.MaskCard(v.String()); ok {
					t.Fatalf("card-like number %q survived", v)
				}
			case map[string]any:
				for _, e := range v {
					check(e)
				}
			case []any:
				for _, e := range v {
					check(e)
				}
			}
		}
		check(out)
	})
}

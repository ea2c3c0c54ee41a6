package nurture_test

import (
	"encoding/json"
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
			require.Equal(t, "email", err.(*nurture.Error).Field)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
	}
}

func TestContactFromTraits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		traits    string
		want      nurture.Contact
		wantField string // non-empty: expect an invalid error naming it
	}{
		{name: "camel case", traits: `{"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","company":"Acme","timezone":"Europe/London","teamSize":"11-50"}`,
			want: nurture.Contact{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Company: "Acme", TimeZone: "Europe/London", TeamSize: "11-50"}},
		{name: "snake case and company object", traits: `{"first_name":"Ada","company":{"name":"Acme","industry":"Software","employee_count":42}}`,
			want: nurture.Contact{FirstName: "Ada", Company: "Acme", Industry: "Software", TeamSize: "42"}},
		{name: "full name split", traits: `{"name":"Grace Brewster Hopper"}`,
			want: nurture.Contact{FirstName: "Grace", LastName: "Brewster Hopper"}},
		{name: "number team size", traits: `{"teamSize":250}`, want: nurture.Contact{TeamSize: "250"}},
		{name: "open range", traits: `{"team_size":"1000+"}`, want: nurture.Contact{TeamSize: "1000+"}},
		{name: "custom traits kept", traits: `{"plan":"pro","seats":3}`,
			want: nurture.Contact{Attributes: map[string]any{"plan": "pro", "seats": float64(3)}}},
		{name: "bad email", traits: `{"email":"not-an-email"}`, wantField: "traits.email"},
		{name: "bad time zone", traits: `{"timezone":"Mars/Olympus"}`, wantField: "traits.timezone"},
		{name: "bad team size", traits: `{"teamSize":"lots"}`, wantField: "traits.teamSize"},
		{name: "reversed range", traits: `{"teamSize":"50-11"}`, wantField: "traits.teamSize"},
		{name: "object where text is expected", traits: `{"firstName":{"x":1}}`, wantField: "traits.firstName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var traits map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.traits), &traits))
			got, err := nurture.ContactFromTraits(traits)
			if tt.wantField != "" {
				require.Error(t, err)
				require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
				require.Equal(t, tt.wantField, err.(*nurture.Error).Field)
				return
			}
			require.NoError(t, err)
			if tt.want.Attributes == nil {
				tt.want.Attributes = map[string]any{}
			}
			require.Equal(t, tt.want, *got)
		})
	}
}

func FuzzContactFromTraits(f *testing.F) {
	f.Add(`{"email":"ada@example.com","firstName":"Ada","company":{"name":"Acme"}}`)
	f.Add(`{"teamSize":"11-50","timezone":"Europe/Paris","name":"A B"}`)
	f.Add(`{"email":"a@b.co\r\nBcc: x@y.z"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var traits map[string]any
		if json.Unmarshal([]byte(raw), &traits) != nil {
			return
		}
		c, err := nurture.ContactFromTraits(traits)
		if err != nil {
			if nurture.ErrorCodeOf(err) != nurture.CodeInvalid {
				t.Fatalf("error %v is not an invalid-input error", err)
			}
			return
		}
		if c.Email != "" {
			if _, err := nurture.NormalizeEmail(c.Email); err != nil {
				t.Fatalf("accepted email %q does not validate: %v", c.Email, err)
			}
		}
	})
}

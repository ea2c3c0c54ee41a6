package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

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
		{name: "line break in a first name", traits: `{"firstName":"Ada\r\nBcc: x@example.com"}`, wantField: "traits.firstName"},
		{name: "C1 control in a company", traits: `{"company":"Ac\u0085me"}`, wantField: "traits.company"},
		{name: "line separator in the company object", traits: `{"company":{"name":"Ac\u2028me"}}`, wantField: "traits.company.name"},
		{name: "control in the company object's industry", traits: `{"company":{"name":"Acme","industry":"Soft\u0007ware"}}`, wantField: "traits.company.industry"},
		{name: "long last name", traits: `{"lastName":"` + strings.Repeat("x", 101) + `"}`, wantField: "traits.lastName"},
		{name: "long name part", traits: `{"name":"Ada ` + strings.Repeat("x", 101) + `"}`, wantField: "traits.name"},
		{name: "long locale", traits: `{"locale":"` + strings.Repeat("x", 36) + `"}`, wantField: "traits.locale"},
		{name: "long time zone", traits: `{"time_zone":"` + strings.Repeat("x", 65) + `"}`, wantField: "traits.time_zone"},
		{name: "long custom text", traits: `{"bio":["` + strings.Repeat("x", 2001) + `"]}`, wantField: "traits.bio[0]"},
		{name: "long custom name", traits: `{"` + strings.Repeat("x", 101) + `":1}`, wantField: "traits"},
		{name: "multi-byte characters count once", traits: `{"firstName":"` + strings.Repeat("é", 100) + `"}`,
			want: nurture.Contact{FirstName: strings.Repeat("é", 100)}},
		{name: "line breaks in custom text are fine", traits: `{"bio":"one\ntwo"}`,
			want: nurture.Contact{Attributes: map[string]any{"bio": "one\ntwo"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var traits map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.traits), &traits))
			got, err := api.ContactFromTraits(traits)
			if tt.wantField != "" {
				require.Error(t, err)
				require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))
				require.Equal(t, tt.wantField, nurture.FieldOf(err))
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
	f.Add(`{"firstName":"Ada\u2028","company":{"name":"A\nB","industry":"x"},"bio":"x"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var traits map[string]any
		if json.Unmarshal([]byte(raw), &traits) != nil {
			return
		}
		c, err := api.ContactFromTraits(traits)
		if err != nil {
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "error %v is not an invalid-input error", err)
			return
		}
		if c.Email != "" {
			_, err := nurture.NormalizeEmail(c.Email)
			require.NoError(t, err, "accepted email %q does not validate", c.Email)
		}
		// Every typed field is one line within its length.
		for _, f := range nurture.ProfileFields {
			v := *f.Get(c)
			require.False(t, strings.ContainsAny(v, "\r\n\u0085\u2028\u2029") || utf8.RuneCountInString(v) > f.Max, "accepted %s %q", f.Name, v)
		}
		require.LessOrEqual(t, len(c.Attributes), nurture.MaxAttributesPerCall, "custom traits accepted")
	})
}

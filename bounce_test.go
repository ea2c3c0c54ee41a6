package nurture_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestBounceNormalize(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   nurture.Bounce
		want nurture.Bounce
	}{
		{"a display name is dropped, the domain lower-cased, the local part kept",
			nurture.Bounce{Email: ` "Ada L." <Ada@Example.COM> `, Type: nurture.BounceHard, Provider: "api"},
			nurture.Bounce{Email: "Ada@example.com", Type: nurture.BounceHard, Provider: "api"}},
		{"the reason loses every copy of the address, whatever its case",
			nurture.Bounce{Email: "ada@example.com", Type: nurture.BounceSoft, Reason: " 550 <ADA@example.com> unknown; ada@EXAMPLE.com gone ",
				At: at, Provider: "ses", EventID: " ev-1 "},
			nurture.Bounce{Email: "ada@example.com", Type: nurture.BounceSoft, Reason: "550 <<recipient>> unknown; <recipient> gone",
				At: at, Provider: "ses", EventID: "ev-1"}},
		{"the Message-ID loses its angle brackets, NUL bytes go",
			nurture.Bounce{Email: "a@example.com", Type: nurture.BounceComplaint, Reason: "spam\x00", MessageID: " <nurture.5@acme.example> ",
				EventID: "e\x001"},
			nurture.Bounce{Email: "a@example.com", Type: nurture.BounceComplaint, Reason: "spam", MessageID: "nurture.5@acme.example", EventID: "e1"}},
		{"long values are clipped on a character boundary",
			nurture.Bounce{Email: "a@example.com", Type: nurture.BounceHard, Reason: strings.Repeat("é", nurture.MaxBounceReason),
				MessageID: strings.Repeat("m", 300), EventID: strings.Repeat("e", 300)},
			nurture.Bounce{Email: "a@example.com", Type: nurture.BounceHard, Reason: strings.Repeat("é", nurture.MaxBounceReason/2),
				MessageID: strings.Repeat("m", 255), EventID: strings.Repeat("e", 255)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.in.Normalize("email")
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestBounceNormalizeRefusesWhatIsNotOneAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ email, message string }{
		{"", "is required"},
		{"   ", "is required"},
		{"not an address", "is not a valid email address"},
		{"a@example.com, b@example.com", "is not a valid email address"},
		{strings.Repeat("a", 250) + "@example.com", "is not a valid email address"},
		{strings.Repeat("a", 320) + "@example.com", "is longer than 320 characters"},
	} {
		_, err := nurture.Bounce{Email: tc.email, Type: nurture.BounceHard}.Normalize("[3].email")
		require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "%q", tc.email)
		var de *nurture.Error
		require.ErrorAs(t, err, &de)
		require.Equal(t, "[3].email", de.Field, "%q", tc.email)
		require.Equal(t, tc.message, de.Message, "%q", tc.email)
	}
}

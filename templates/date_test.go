package templates

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestLocalDate(t *testing.T) {
	t.Parallel()
	// 22:30 UTC on 5 March 2025: already 6 March east of UTC+1:30.
	evening := time.Date(2025, 3, 5, 22, 30, 0, 0, time.UTC)
	first := time.Date(2025, 6, 1, 8, 5, 0, 0, time.UTC)
	tests := []struct {
		name     string
		locale   string
		zone     string
		when     any
		date     string
		dateTime string
	}{
		{"en-US", "en-US", "America/New_York", evening, "March 5, 2025", "March 5, 2025 at 5:30 PM EST"},
		{"en_US POSIX", "en_US.UTF-8", "America/Los_Angeles", evening, "March 5, 2025", "March 5, 2025 at 2:30 PM PST"},
		{"en-CA", "en-CA", "America/Toronto", first, "June 1, 2025", "June 1, 2025 at 4:05 AM EDT"},
		{"en-GB", "en-GB", "Europe/London", first, "1 June 2025", "1 June 2025 at 09:05 BST"},
		{"en-AU is day first", "en-au", "Australia/Sydney", evening, "6 March 2025", "6 March 2025 at 09:30 AEDT"},
		{"fr", "fr", "Europe/Paris", evening, "5 mars 2025", "5 mars 2025 à 23:30 CET"},
		{"fr-CA, first of the month", "fr-CA", "America/Montreal", first, "1er juin 2025", "1er juin 2025 à 04:05 EDT"},
		{"de", "de-DE", "Europe/Berlin", evening, "5. März 2025", "5. März 2025 um 23:30 CET"},
		{"de-AT", "de_AT", "Europe/Vienna", first, "1. Juni 2025", "1. Juni 2025 um 10:05 CEST"},
		{"es", "es", "Europe/Madrid", evening, "5 de marzo de 2025", "5 de marzo de 2025, 23:30 CET"},
		{"es-MX", "es-MX", "America/Mexico_City", evening, "5 de marzo de 2025", "5 de marzo de 2025, 16:30 CST"},
		{"zone without an abbreviation", "en-GB", "Asia/Dubai", evening, "6 March 2025", "6 March 2025 at 02:30 UTC+04"},
		{"unknown locale, unknown zone", "", "", evening, "5 March 2025", "5 March 2025, 22:30 UTC"},
		{"English without a region", "en", "", evening, "5 March 2025", "5 March 2025, 22:30 UTC"},
		{"language without a style", "ja-JP", "Asia/Tokyo", evening, "6 March 2025", "6 March 2025, 07:30 JST"},
		{"invalid zone is UTC", "en-US", "Mars/Olympus_Mons", evening, "March 5, 2025", "March 5, 2025 at 10:30 PM UTC"},
		{"hostile zone is UTC", "en-US", "../../etc/passwd", evening, "March 5, 2025", "March 5, 2025 at 10:30 PM UTC"},
		{"Local is not the server's zone", "en-US", "Local", evening, "March 5, 2025", "March 5, 2025 at 10:30 PM UTC"},
		{"zero time is unknown", "en-US", "Europe/Paris", time.Time{}, "", ""},
		{"pointer", "en-GB", "", &evening, "5 March 2025", "5 March 2025 at 22:30 UTC"},
		{"nil pointer", "en-GB", "", (*time.Time)(nil), "", ""},
		{"RFC 3339 attribute", "en-GB", "Europe/London", "2025-03-05T22:30:00Z", "5 March 2025", "5 March 2025 at 22:30 GMT"},
		{"RFC 3339 with offset", "en-GB", "UTC", "2025-03-06T01:30:00+03:00", "5 March 2025", "5 March 2025 at 22:30 UTC"},
		{"date-only attribute does not move", "en-US", "Pacific/Kiritimati", "2025-03-05", "March 5, 2025", "March 5, 2025"},
		{"Unix seconds", "en-GB", "", 1741213800.0, "5 March 2025", "5 March 2025 at 22:30 UTC"},
		{"Unix milliseconds", "en-GB", "", json.Number("1741213800000"), "5 March 2025", "5 March 2025 at 22:30 UTC"},
		{"garbage", "en-US", "", "next Tuesday", "", ""},
		{"nil", "en-US", "", nil, "", ""},
		{"a bool", "en-US", "", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := nurture.Contact{Locale: tt.locale, TimeZone: tt.zone}
			require.Equal(t, tt.date, localDate(c, tt.when), "localDate")
			require.Equal(t, tt.dateTime, localTime(c, tt.when), "localTime")
		})
	}
}

// TestLocalDateInTemplates checks the functions as templates call them,
// with default for an unknown date.
func TestLocalDateInTemplates(t *testing.T) {
	t.Parallel()
	s, err := Load(fsWith(t, map[string]string{"mail/dates.html": `{{define "subject"}}Seen {{localDate .Contact .Engagement.LastSeen | default "a while ago"}}{{end}}
{{define "topic"}}product{{end}}
{{define "body"}}<p>Last seen {{localTime .Contact .Engagement.LastSeen | default "never"}}; trial ends {{localDate .Contact (attr .Contact "trial_ends") | default "soon"}}.</p>{{end}}`}))
	require.NoError(t, err, "Load")
	d := full()
	d.Contact.Locale, d.Contact.TimeZone = "fr-FR", "Europe/Paris"
	d.Contact.Attributes = map[string]any{"trial_ends": "2025-04-01"}
	r, err := s.Render("dates", d)
	require.NoError(t, err, "Render")
	require.Equal(t, "Seen 5 mars 2025", r.Subject, "subject")
	require.Contains(t, r.Text, "Last seen 5 mars 2025 à 23:30 CET; trial ends 1er avril 2025.", "text")
	r, err = s.Render("dates", unknown())
	require.NoError(t, err, "Render")
	require.Equal(t, "Seen a while ago", r.Subject, "unknown contact: subject")
	require.Contains(t, r.Text, "\nLast seen never; trial ends soon.\n", "unknown contact: text")

}

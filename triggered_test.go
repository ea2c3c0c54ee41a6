package nurture_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Every template Triggered starts an email with is one TriggeredTemplates
// lists, so that a start without it is refused rather than the emails
// failing one by one.
func TestTriggeredTemplatesListsWhatTriggeredSends(t *testing.T) {
	t.Parallel()
	var listed []string
	for _, tt := range nurture.TriggeredTemplates() {
		require.NotEmpty(t, tt.On, tt.Name)
		listed = append(listed, tt.Name)
	}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	sent := 0
	for _, call := range []nurture.Call{
		{Type: nurture.EventTrack, Name: nurture.EventSignedUp},
		{Type: nurture.EventTrack, Name: "Project Created"},
		{Type: nurture.EventIdentify},
		{Type: nurture.EventPage, Name: "Pricing"},
		{Type: nurture.EventAlias},
	} {
		for _, m := range nurture.Triggered(&call, 7, now) {
			require.Contains(t, listed, m.Template, "%s %q sends it", call.Type, call.Name)
			sent++
		}
	}
	require.Positive(t, sent, "a signed_up event sends an email")
	require.True(t, slices.Contains(listed, nurture.TemplateWelcome))
}

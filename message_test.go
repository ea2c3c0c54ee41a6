package nurture_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// A message's log attributes name it, its contact, and the enrollment or
// campaign its dedupe key says made it.
func TestMessageLogAttrs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key  string
		want []any
	}{
		{"seq:41:welcome", []any{slog.Int64("enrollment_id", 41)}},
		{"seq:41:nudge:2", []any{slog.Int64("enrollment_id", 41)}},
		{nurture.CampaignDedupeKey(9, 7), []any{slog.Int64("campaign_id", 9)}},
		{nurture.WelcomeDedupeKey(7), nil},
		{"export:7:2026-12-06T10:00:00Z", nil},
		{"seq:not-a-number:x", nil},
		{"", nil},
	} {
		m := &nurture.Message{ID: 3, ContactID: 7, DedupeKey: tc.key}
		want := append([]any{slog.Int64("message_id", 3), slog.Int64("contact_id", 7)}, tc.want...)
		require.Equal(t, want, m.LogAttrs(), tc.key)
	}
}

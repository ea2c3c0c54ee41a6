package nurture_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestFormToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	s, err := nurture.NewSigner(strings.Repeat("a", 32))
	require.NoError(t, err)
	other, err := nurture.NewSigner(strings.Repeat("b", 32))
	require.NoError(t, err)
	rotated, err := nurture.NewSigner(strings.Repeat("c", 32), strings.Repeat("a", 32))
	require.NoError(t, err)
	page := s.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: 5, ContactID: 9})
	otherPage := s.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: 6, ContactID: 9})
	form := s.FormToken(page, now)
	require.Less(t, len(form), 48, "a short hidden field")

	for _, tc := range []struct {
		name   string
		signer *nurture.Signer
		page   string
		form   string
		at     time.Time
		ok     bool
	}{
		{"the page's own", s, page, form, now, true},
		{"a day later", s, page, form, now.Add(nurture.MaxFormTokenAge), true},
		{"after a rotation of the secret", rotated, page, form, now.Add(time.Hour), true},
		{"a clock a little behind", s, page, form, now.Add(-time.Minute), true},
		{"more than a day later", s, page, form, now.Add(nurture.MaxFormTokenAge + time.Second), false},
		{"made more than a few minutes ahead", s, page, form, now.Add(-6 * time.Minute), false},
		{"of another page", s, otherPage, form, now, false},
		{"signed with another secret", other, page, form, now, false},
		{"tampered", s, page, form[:len(form)-2] + "AA", now, false},
		{"truncated", s, page, form[:10], now, false},
		{"with bytes appended", s, page, form + "AAAA", now, false},
		{"a link token", s, page, page, now, false},
		{"empty", s, page, "", now, false},
		{"not base64", s, page, "!!!!", now, false},
	} {
		require.Equal(t, tc.ok, tc.signer.CheckFormToken(tc.page, tc.form, tc.at), tc.name)
	}
}

func FuzzCheckFormToken(f *testing.F) {
	s, err := nurture.NewSigner(strings.Repeat("a", 32))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	page := s.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: 5, ContactID: 9})
	f.Add(s.FormToken(page, now))
	f.Add(s.FormToken(page, now.Add(-48*time.Hour)))
	f.Add(page)
	f.Add("AgAA")
	want, _ := base64.RawURLEncoding.DecodeString(s.FormToken(page, now))
	f.Fuzz(func(t *testing.T, form string) {
		if !s.CheckFormToken(page, form, now) {
			return
		}
		// Of the tokens the signer made, the fuzzer was given one that is
		// valid now: accepting anything but its bytes (in whatever base64
		// spelling) would be accepting a forgery.
		got, err := base64.RawURLEncoding.DecodeString(form)
		require.NoError(t, err, "accepted a form token the signer never made: %q", form)
		require.Equal(t, want, got, "accepted a form token the signer never made: %q", form)
	})
}

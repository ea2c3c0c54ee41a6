package mailer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wneessen/go-mail/smtp"
)

func TestRelayAuthChoosesMechanism(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		loopback bool
		info     smtp.ServerInfo
		want     string // mechanism, or an error fragment after "error: "
	}{
		{"PLAIN over TLS", false, smtp.ServerInfo{Name: "relay.example.com", TLS: true, Auth: []string{"LOGIN", "PLAIN"}}, "PLAIN"},
		{"LOGIN over TLS", false, smtp.ServerInfo{Name: "relay.example.com", TLS: true, Auth: []string{"LOGIN", "XOAUTH2"}}, "LOGIN"},
		{"PLAIN to loopback", true, smtp.ServerInfo{Name: "127.0.0.1", Auth: []string{"PLAIN"}}, "PLAIN"},
		{"lower-case advertisement", false, smtp.ServerInfo{Name: "relay.example.com", TLS: true, Auth: []string{"plain"}}, "PLAIN"},
		{"no readable password in plain text", false, smtp.ServerInfo{Name: "relay.example.com", Auth: []string{"PLAIN", "LOGIN"}}, "error: none of which"},
		{"challenge-response in plain text", false, smtp.ServerInfo{Name: "relay.example.com", Auth: []string{"PLAIN", "CRAM-MD5"}}, "CRAM-MD5"},
		{"SCRAM preferred to CRAM-MD5", false, smtp.ServerInfo{Name: "relay.example.com", Auth: []string{"CRAM-MD5", "SCRAM-SHA-256"}}, "SCRAM-SHA-256"},
		{"no AUTH", false, smtp.ServerInfo{Name: "relay.example.com", TLS: true}, "error: does not offer AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &relayAuth{username: "u", password: "p", loopback: tt.loopback}
			mech, _, err := a.Start(&tt.info)
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				require.ErrorContains(t, err, want, "Start returned mechanism %q", mech)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, mech)
		})
	}
}

package mailer_test

import (
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtptest"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/mailer"
)

// sendLog is a mailer.Observer that lists what it is told.
type sendLog struct {
	mu      sync.Mutex
	relays  []string
	classes []string
}

func (l *sendLog) SMTPSend(relay, class string, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.relays = append(l.relays, relay)
	l.classes = append(l.classes, class)
}

// Every Send that reaches for the relay is told to the Observer with the
// class of the relay's reply (what nurture_smtp_replies_total counts); an
// email that cannot be composed is not.
func TestSendTellsTheObserver(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failure *smtptest.Failure
		want    string
	}{
		{"accepted", nil, "2xx"},
		{"deferred at RCPT", &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 451, Enhanced: [3]int{4, 3, 0}}, "4xx"},
		{"refused at RCPT", &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}}, "5xx"},
		{"dropped at RCPT", &smtptest.Failure{Stage: smtptest.StageRcpt, Drop: true}, "network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			told := &sendLog{}
			b := setup(t, mailer.Config{PoolSize: 1, Observer: told})
			if tc.failure != nil {
				tc.failure.Times = 1
				b.relay.Fail(*tc.failure)
			}
			_ = b.mailer.Send(t.Context(), newEmail("observed"))
			require.Equal(t, []string{tc.want}, told.classes)
			require.Equal(t, []string{b.relay.Addr()}, told.relays, "the relay as host:port")
		})
	}

	t.Run("relay down", func(t *testing.T) {
		t.Parallel()
		addr, err := testkit.FreeAddr()
		require.NoError(t, err)
		told := &sendLog{}
		m, err := mailer.New(mailer.Config{URL: "smtp://" + addr + "?tls=none", Timeout: time.Second, Observer: told})
		require.NoError(t, err)
		defer m.Close()
		require.Error(t, m.Send(t.Context(), newEmail("down")))
		require.Equal(t, []string{"network"}, told.classes)
	})

	t.Run("not composable", func(t *testing.T) {
		t.Parallel()
		told := &sendLog{}
		b := setup(t, mailer.Config{Observer: told})
		e := newEmail("broken")
		e.From = mail.Address{Address: "not an address"}
		require.Error(t, b.mailer.Send(t.Context(), e))
		require.Empty(t, told.classes, "the email never reached for the relay")
	})
}

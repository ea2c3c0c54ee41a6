package mailer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// relayAuth picks the SASL mechanism once it sees what the relay offers
// and whether the connection is encrypted, then delegates to go-mail's
// implementation of it. go-mail's own auto-discovery cannot be used: with
// a custom dialer (which the pool needs) it believes implicit TLS is plain
// text, and it never uses PLAIN without TLS even to a loopback relay.
//
// The password only travels readable (PLAIN, LOGIN) over TLS or to a
// loopback relay; elsewhere only challenge-response mechanisms are tried.
// A relayAuth holds per-conversation state, so each connection has its own.
type relayAuth struct {
	username, password string
	loopback           bool
	chosen             smtp.Auth
}

func (a *relayAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	offered := func(mech string) bool {
		return slices.ContainsFunc(info.Auth, func(m string) bool { return strings.EqualFold(m, mech) })
	}
	readable := info.TLS || a.loopback
	switch {
	case readable && offered("PLAIN"):
		a.chosen = smtp.PlainAuth("", a.username, a.password, info.Name, true)
	case readable && offered("LOGIN"):
		a.chosen = smtp.LoginAuth(a.username, a.password, info.Name, true)
	case offered("SCRAM-SHA-256"):
		a.chosen = smtp.ScramSHA256Auth(a.username, a.password)
	case offered("SCRAM-SHA-1"):
		a.chosen = smtp.ScramSHA1Auth(a.username, a.password)
	case offered("CRAM-MD5"):
		a.chosen = smtp.CRAMMD5Auth(a.username, a.password)
	case len(info.Auth) == 0:
		return "", nil, errors.New("relay does not offer AUTH but the smtp url has credentials")
	default:
		return "", nil, fmt.Errorf("relay offers AUTH %s, none of which can be used without TLS here",
			strings.Join(info.Auth, " "))
	}
	return a.chosen.Start(info)
}

func (a *relayAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}

package mailer

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// TLSMode says how an smtp:// relay connection uses STARTTLS.
type TLSMode string

// The STARTTLS policies a relay URL can ask for with ?tls=.
const (
	// TLSNone never upgrades: only for a relay on the same host or network.
	TLSNone TLSMode = "none"
	// TLSOpportunistic upgrades when the relay offers STARTTLS and sends in
	// plain text otherwise; the default for a loopback relay.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSStartTLS refuses to send unless the connection is upgraded; the
	// default, because mail crossing a network must not be readable on it.
	TLSStartTLS TLSMode = "starttls"
)

// Relay is a parsed relay URL: where to deliver and how to secure and
// authenticate the connection.
type Relay struct {
	Host     string // a name or an IP address, without brackets
	Port     int
	Username string // empty when the relay takes mail without AUTH
	Password string
	// TLS is the STARTTLS policy of an smtp:// relay. It is empty when
	// Implicit is set: an smtps:// connection is TLS from its first byte.
	TLS      TLSMode
	Implicit bool
}

// Default ports: submission with STARTTLS, and submissions (RFC 8314).
const (
	defaultPort         = 587
	defaultImplicitPort = 465
)

// ParseURL parses a relay URL,
//
//	smtp://[user:pass@]host[:port][?tls=none|opportunistic|starttls]
//	smtps://[user:pass@]host[:port]
//
// applying the defaults: port 587 (465 for smtps), and mandatory STARTTLS
// except to a loopback relay (localhost, 127.0.0.0/8, ::1), where it is
// opportunistic. It is exported so configuration can be checked at start.
// Its errors never repeat the URL, which may hold a password.
func ParseURL(raw string) (Relay, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, password included
		}
		return Relay{}, fmt.Errorf("smtp url: %w", err)
	}
	var r Relay
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		r.Port = defaultPort
	case "smtps":
		r.Port, r.Implicit = defaultImplicitPort, true
	case "":
		return Relay{}, errors.New("smtp url: scheme missing (want smtp:// or smtps://)")
	default:
		return Relay{}, fmt.Errorf("smtp url: scheme %q not supported (want smtp or smtps)", u.Scheme)
	}
	if u.Opaque != "" {
		return Relay{}, errors.New("smtp url: host missing (want smtp://host:port)")
	}
	if u.Path != "" && u.Path != "/" {
		return Relay{}, fmt.Errorf("smtp url: unexpected path %q", u.Path)
	}
	if u.Fragment != "" {
		return Relay{}, errors.New("smtp url: unexpected fragment")
	}

	r.Host = u.Hostname()
	if r.Host == "" {
		return Relay{}, errors.New("smtp url: host missing")
	}
	if strings.Contains(r.Host, ":") {
		if _, err := netip.ParseAddr(r.Host); err != nil || !strings.HasPrefix(u.Host, "[") {
			return Relay{}, fmt.Errorf("smtp url: host %q is not an IPv6 address in brackets", r.Host)
		}
	} else if net.ParseIP(r.Host) == nil && !isHostName(r.Host) {
		return Relay{}, fmt.Errorf("smtp url: host %q is not a host name or an IP address", r.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Relay{}, fmt.Errorf("smtp url: port %q is not a number from 1 to 65535", p)
		}
		r.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Relay{}, errors.New("smtp url: port empty after the colon")
	}

	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
		if r.Username == "" || r.Password == "" {
			return Relay{}, errors.New("smtp url: credentials need both a user name and a password (user:pass@host)")
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Relay{}, fmt.Errorf("smtp url: query: %w", err)
	}
	for key, vals := range q {
		if key != "tls" {
			return Relay{}, fmt.Errorf("smtp url: unknown parameter %q (only tls is known)", key)
		}
		if len(vals) != 1 {
			return Relay{}, errors.New("smtp url: tls given more than once")
		}
	}
	if r.Implicit {
		if q.Has("tls") {
			return Relay{}, errors.New("smtp url: tls parameter not allowed with smtps, which is always TLS")
		}
		return r, nil
	}
	switch mode := TLSMode(q.Get("tls")); mode {
	case TLSNone, TLSOpportunistic, TLSStartTLS:
		r.TLS = mode
	case "":
		if q.Has("tls") {
			return Relay{}, errors.New("smtp url: tls is empty (want none, opportunistic or starttls)")
		}
		r.TLS = TLSStartTLS
		if isLoopback(r.Host) {
			r.TLS = TLSOpportunistic
		}
	default:
		return Relay{}, fmt.Errorf("smtp url: tls=%q not supported (want none, opportunistic or starttls)", string(mode))
	}
	return r, nil
}

// String returns the relay as a URL with the password masked, so a Relay
// can be logged or shown in a configuration check.
func (r Relay) String() string {
	return r.url(true)
}

// LogValue keeps the password out of structured logs, which would
// otherwise print every field.
func (r Relay) LogValue() slog.Value {
	return slog.StringValue(r.String())
}

// url formats the relay as a URL that ParseURL reads back to the same
// Relay, with the password masked if asked.
func (r Relay) url(mask bool) string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(r.Host, strconv.Itoa(r.Port))}
	if r.Implicit {
		u.Scheme = "smtps"
	} else if r.TLS != "" {
		u.RawQuery = "tls=" + url.QueryEscape(string(r.TLS))
	}
	if r.Username != "" || r.Password != "" {
		pass := r.Password
		if mask {
			pass = "xxxxx"
		}
		u.User = url.UserPassword(r.Username, pass)
	}
	return u.String()
}

// addr is the relay's host:port for dialling.
func (r Relay) addr() string {
	return net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
}

// isLoopback reports whether host names this machine: traffic to it never
// crosses a network, so plain text is an acceptable default there.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(zoneless(host))
	return ip != nil && ip.IsLoopback()
}

// isHostName reports whether s is made of the letters, digits, dots,
// hyphens and underscores that DNS names use.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func zoneless(host string) string {
	h, _, _ := strings.Cut(host, "%")
	return h
}

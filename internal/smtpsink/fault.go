package smtpsink

import (
	"strings"
	"sync"
	"time"
)

// Tag is a fault chosen by a recipient's address: its local part starts
// with the tag and a hyphen, as in f451once-person12@example.test. Every
// other recipient is accepted.
type Tag string

// The recipient tags. Those that would otherwise keep a message from ever
// being delivered (a lost reply, a hang) strike the first delivery of each
// recipient only: a fault suite measures how the sender recovers, not how
// long it keeps retrying.
const (
	// TagNone: accepted.
	TagNone Tag = ""
	// Tag451Once: the first delivery to the recipient is answered 451
	// after the data; later ones are accepted.
	Tag451Once Tag = "f451once"
	// Tag550: every delivery is refused with 550 after the data.
	Tag550 Tag = "f550"
	// TagDrop: the first delivery is accepted (journaled) and the
	// connection is then reset (TCP RST) instead of answering: the reply
	// is lost, which RFC 1047 says makes a duplicate unavoidable.
	TagDrop Tag = "fdrop"
	// TagNoReply: the first delivery is accepted (journaled) and the
	// connection closed after "." without a reply.
	TagNoReply Tag = "fnoreply"
	// TagHang: the first delivery hangs after "." until the client gives
	// up; it is not accepted.
	TagHang Tag = "fhang"
	// TagDelay: every delivery is answered 200 ms after "." (accepted
	// first, answered late).
	TagDelay Tag = "fdelay"
)

var tags = []Tag{Tag451Once, Tag550, TagDrop, TagNoReply, TagHang, TagDelay}

// TagDelayTime is how late a TagDelay delivery is answered.
const TagDelayTime = 200 * time.Millisecond

// TagOf returns the fault tag of a recipient address (with or without its
// angle brackets), TagNone when it has none.
func TagOf(addr string) Tag {
	addr = strings.TrimPrefix(addr, "<")
	local, _, ok := strings.Cut(addr, "-")
	if !ok || len(local) < 2 || (local[0] != 'f' && local[0] != 'F') {
		return TagNone
	}
	for _, t := range tags {
		if strings.EqualFold(local, string(t)) {
			return t
		}
	}
	return TagNone
}

// Address returns the address of recipient local@domain with tag t.
func Address(t Tag, local, domain string) string {
	if t == TagNone {
		return local + "@" + domain
	}
	return string(t) + "-" + local + "@" + domain
}

// Mode is a fault of the whole relay, switched at run time.
type Mode string

// The relay-wide modes.
const (
	// ModeNormal: no relay-wide fault.
	ModeNormal Mode = "none"
	// ModeDown: the relay is down: new connections are closed as soon as
	// they are accepted, open ones at their next command (never between
	// "." and its reply).
	ModeDown Mode = "down"
	// ModeUnavailable: new connections get "421" instead of a greeting,
	// open ones get "421" to their next command; both are then closed.
	ModeUnavailable Mode = "unavailable"
	// ModeHang: the relay hangs: greetings, and replies after ".", wait
	// until the mode ends. A message whose client left before then is not
	// accepted.
	ModeHang Mode = "hang"
	// ModeDelay: every message is accepted at its "." and answered Delay
	// later (a slow relay: a sender stopping must wait for the reply).
	ModeDelay Mode = "delay"
)

// ParseMode returns the mode called name.
func ParseMode(name string) (Mode, bool) {
	for _, m := range []Mode{ModeNormal, ModeDown, ModeUnavailable, ModeHang, ModeDelay} {
		if string(m) == name {
			return m, true
		}
	}
	return "", false
}

// fault is the relay-wide mode in force and when it ends.
type fault struct {
	mode  Mode
	until time.Time // zero: until changed
	delay time.Duration
}

// faults holds the relay-wide mode and the recipients whose one-time
// fault has struck.
type faults struct {
	mu     sync.Mutex
	global fault
	struck map[string]bool // tag + recipient
}

// set switches the relay-wide mode for d (0: until the next call).
func (f *faults) set(m Mode, d, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.global = fault{mode: m, delay: delay}
	if d > 0 {
		f.global.until = time.Now().Add(d)
	}
}

// current returns the relay-wide mode in force now.
func (f *faults) current() fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.global
	if g.mode == "" || (!g.until.IsZero() && !time.Now().Before(g.until)) {
		return fault{mode: ModeNormal}
	}
	return g
}

// strike reports whether the one-time fault t strikes recipient now: true
// the first time only.
func (f *faults) strike(t Tag, rcpt string) bool {
	key := string(t) + ":" + strings.ToLower(rcpt)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.struck == nil {
		f.struck = map[string]bool{}
	}
	if f.struck[key] {
		return false
	}
	f.struck[key] = true
	return true
}

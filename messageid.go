package nurture

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// MessageIDs makes and recognises the Message-ID headers of one
// installation's mail: nurture.<id>.<tag>@<domain>, where id is the message
// row and tag a 64-bit HMAC of it under the installation's own key.
//
// The tag is what makes a Message-ID this installation's: row ids start at
// 1 in every database, so a second installation, or this one after its
// database was reset, sends nurture.1@... again, and a bounce of that other
// mail must not mark our message 1. It also makes the Message-ID of
// another message impossible to guess from one seen. It depends on nothing
// but the key and the id, so every retry of a message carries the same
// Message-ID. The key is made at random when the database is first
// migrated and lives in it, rather than being derived from NURTURE_SECRET:
// a reset database gets a new key even with the same secret, and rotating
// the secret leaves the Message-IDs of mail already sent valid.
type MessageIDs struct {
	// Key is the installation's key. Without one, Header writes the
	// untagged form of older versions, which only LegacyBelow recognises.
	Key []byte
	// LegacyBelow is the first message id that was never sent untagged:
	// mail sent before tags existed carries nurture.<id>@<domain>, and is
	// recognised as ours only when its id is below this.
	LegacyBelow int64
}

// messageIDTagBytes is how much of the HMAC the tag keeps: 64 bits, 16 hex
// characters, enough that a wrong guess is all but certain.
const messageIDTagBytes = 8

func (ids MessageIDs) tag(id int64) string {
	m := hmac.New(sha256.New, ids.Key)
	m.Write([]byte("nurture message-id\x00"))
	m.Write(strconv.AppendInt(nil, id, 10))
	return hex.EncodeToString(m.Sum(nil)[:messageIDTagBytes])
}

// Header returns the Message-ID, without angle brackets, of message id
// sent with a From address at domain.
func (ids MessageIDs) Header(id int64, domain string) string {
	if len(ids.Key) == 0 {
		return "nurture." + strconv.FormatInt(id, 10) + "@" + domain
	}
	return "nurture." + strconv.FormatInt(id, 10) + "." + ids.tag(id) + "@" + domain
}

// Ours returns the id of this installation's message whose Message-ID
// header value is v (angle brackets optional); ok is false for anyone
// else's, including another installation's or a forged one.
func (ids MessageIDs) Ours(v string) (id int64, ok bool) {
	id, tag, ok := ParseMessageID(v)
	switch {
	case !ok:
		return 0, false
	case tag == "":
		return id, id < ids.LegacyBelow
	case len(ids.Key) == 0:
		return 0, false
	}
	return id, hmac.Equal([]byte(tag), []byte(ids.tag(id)))
}

// ParseMessageID reads a Message-ID of the shape Nurture writes,
// nurture.<id>[.<tag>]@<domain> (angle brackets optional), and returns the
// message id and the tag ("" for the untagged form of older versions). It
// checks the shape only: MessageIDs.Ours says whether it is this
// installation's.
func ParseMessageID(v string) (id int64, tag string, ok bool) {
	v = trimAngles(v)
	rest, found := strings.CutPrefix(v, "nurture.")
	if !found {
		return 0, "", false
	}
	local, domain, found := strings.Cut(rest, "@")
	if !found || domain == "" {
		return 0, "", false
	}
	digits, tag, tagged := strings.Cut(local, ".")
	if digits == "" || digits[0] == '0' || len(digits) > 18 || strings.ContainsFunc(digits, notDigit) {
		return 0, "", false
	}
	if tagged && (len(tag) != 2*messageIDTagBytes || strings.ContainsFunc(tag, notLowerHex)) {
		return 0, "", false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return id, tag, true
}

func notDigit(r rune) bool    { return r < '0' || r > '9' }
func notLowerHex(r rune) bool { return notDigit(r) && (r < 'a' || r > 'f') }

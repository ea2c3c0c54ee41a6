package nurture

import (
	"crypto/sha256"
	"strings"
	"time"
)

// SuppressionReason says why an address must not be mailed.
type SuppressionReason string

// The reasons an address is suppressed.
const (
	SuppressHardBounce  SuppressionReason = "hard_bounce"
	SuppressComplaint   SuppressionReason = "complaint"
	SuppressUnsubscribe SuppressionReason = "unsubscribe"
	SuppressErasure     SuppressionReason = "erasure"
	SuppressManual      SuppressionReason = "manual"
)

// Suppression is an address's entry on the suppression list: why it must
// not be mailed, what the relay or provider said, and since when. An
// address keeps its first suppression.
type Suppression struct {
	Reason SuppressionReason
	Detail string
	Since  time.Time
}

// EmailHash is the key of a suppression: SHA-256 of the lower-cased address.
// It lets an erased person stay suppressed without us keeping the address.
func EmailHash(email string) []byte {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return sum[:]
}

// SuppressedAddress is one line of the suppression list as an operator
// reads it: the entry's key (EmailHash), the address when it is kept ("" when
// only its hash is), and the suppression itself.
type SuppressedAddress struct {
	EmailHash []byte
	Email     string
	Suppression
}

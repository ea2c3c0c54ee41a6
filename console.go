package nurture

import "time"

// ConsoleSession is a sign-in to the console (/admin): the admin API key it
// was opened with, and when it ends.
type ConsoleSession struct {
	KeyID     int64
	KeyName   string
	ExpiresAt time.Time
}

// AuditEntry is one line of the console's audit log: what an operator did,
// by the name of the key they signed in with.
type AuditEntry struct {
	At      time.Time
	KeyID   int64
	KeyName string
	Action  string // "campaign.pause", "contact.erase", "suppression.remove", ...
	Target  string // "campaign:12", "contact:7", a hash: never an address or a name
	Detail  string // free text written by the console, never personal data
}

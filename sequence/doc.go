// Package sequence owns Nurture's sequences: the YAML files that say which
// emails a contact gets after a trigger, in which order, on which
// conditions and when; their validation; and the decision of what an
// enrollment does next.
//
// # Files
//
// Load reads every *.yaml and *.yml file at the root of a file system (the
// starters embedded in the templates package, or NURTURE_SEQUENCES_DIR)
// with github.com/goccy/go-yaml, which keeps the line and column of every
// value, and checks each against the email templates in use (through the
// small Templates interface, which *templates.Set satisfies). Every
// mistake of every file is reported at once, each as
// file:line:column: field: message. The format is in the README
// ("Sequences") and in parse.go.
//
// A Sequence has a content Version: a hash of its normalised content, so
// that comments, spacing and key order do not change it. Enrollments keep
// the version they entered with; CanMove says when an enrollment may move
// to a newer one (the step it stands on is still there, of the same kind).
//
// # Decisions
//
// Decide is the pure core: given a sequence version, an enrollment's State,
// the contact's Facts, time zone, send window, frequency-cap state and the
// time, it returns what to do (send template T now, with the reasons; wait
// until a time, or for an event until a time; exit, converted, completed)
// and the State to store. It reads no database and no clock: the engine
// (enrollments in PostgreSQL, the poller, sequence:advance-batch tasks) fills its
// input and applies its answer in one transaction.
//
// # What it must not do
//
// It imports only the domain package and the YAML parser: no HTTP, SQL,
// queue or SMTP, and not the templates package itself (depguard checks
// this). It sends nothing and stores nothing.
package sequence

package nurture

import "time"

// JobLease is a periodic job's lease as a process finds it when it asks
// for it: with several worker processes each periodic job (the
// reconciler, the pollers, retention, the overview counts) runs in the
// one process that holds its lease. The lease is measured by the
// database's clock, so processes whose clocks disagree still agree on
// who holds it.
type JobLease struct {
	Job    string
	Holder string // the process that asked
	// Held says the asking process holds the lease until HeldUntil.
	Held      bool
	HeldUntil time.Time
	// TookOver says the lease was free (never taken, released, or lapsed
	// with a holder that stopped renewing it) and is the asker's from now.
	TookOver bool
	// PassDue says a pass of the job is due (the last one, by whoever ran
	// it, began at least a period ago) and is counted as run: the holder
	// runs it now.
	PassDue bool
	// Runs counts the job's passes, whoever ran them.
	Runs int64
}

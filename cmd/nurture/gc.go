package main

import "runtime/debug"

// gcPercent is the garbage collector's target for the processes that
// serve (`nurture api`, `worker` and `all`), unless the operator set GOGC
// or GOMEMLIMIT. Both keep a small live heap and allocate on every request
// or email, so at Go's default of 100 the collector runs many times a
// second (docs/benchmarks.md):
//   - the API's live heap is about 5 MB under a load of opens and clicks:
//     at 100 the collector took about 5 µs of CPU per open or click, at 400
//     about 1.4 µs, for a heap of about 25 MB instead of 10;
//   - a worker allocates tens of kilobytes per email (rendered parts, MIME,
//     signature): at 400 it spent about a sixth less CPU per email, for a
//     peak RSS of about 85 MB instead of 55 while sending 100,000.
const gcPercent = 400

// tuneGC sets gcPercent unless getenv names a setting of the operator's,
// and reports whether it did.
func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	return true
}

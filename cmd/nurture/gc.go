package main

import "runtime/debug"

// apiGCPercent is the garbage collector's target for a process that serves
// the API alone (`nurture api`), unless the operator set GOGC or
// GOMEMLIMIT. The API's live heap is small (about 5 MB under a load of
// opens and clicks) while every request allocates a few kilobytes, most of
// them in net/http: at Go's default of 100 the collector ran about 20
// times a second and took about 5 µs of CPU per open or click; at 400 it
// takes about 1.4 µs, for a heap of about 25 MB instead of 10.
const apiGCPercent = 400

// tuneAPIGC sets apiGCPercent unless getenv names a setting of the
// operator's, and reports whether it did.
func tuneAPIGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(apiGCPercent)
	return true
}

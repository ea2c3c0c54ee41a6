// Package faults is Nurture's permanent fault suite: it runs the real
// `nurture worker` and `nurture api` binaries as child processes against a
// PostgreSQL and Redis of its own and an SMTP sink that journals every
// accepted message, breaks them in the ways of issue 11 (kill -9, SIGTERM,
// Redis flushed or restarted empty, PostgreSQL restarted, stopped or cut
// off, relay faults and hangs), and counts from the sink's journal and the
// database whether anybody was mailed twice or not at all.
//
// Everything lives in its tests; they are skipped unless NURTURE_FAULTS=1
// (`make faults`). The results go to docs/reliability.md.
package faults

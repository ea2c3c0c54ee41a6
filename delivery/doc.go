// Package delivery is the send use case: it takes message ids and delivers
// each email at most once, whatever crashes, retries or concurrent attempts
// happen around it.
//
// One call of Deliverer.Deliver works through these steps:
//
//  1. Claim: the rows are taken in one statement under a fresh claim id and
//     a lease measured by the database's clock. Only the holder of a live
//     claim may send a message or record its outcome (fencing).
//  2. Check at the last moment: erased contacts, suppressed addresses, topic
//     opt-outs and the frequency cap, for the whole batch in a few queries
//     (the contacts come with their companies, in the same round trip).
//  3. Render and compose each email (templates, with the contact's company
//     as templates.CompanyOf shows it; tracked links; headers).
//  4. Send, a few at a time. Before each send the claim must still be ours
//     with enough lease left, no cancellation (an unsubscribe or erasure)
//     may have reached the row, and the outcome writer must be keeping up.
//     A watcher renews the lease while the batch works and looks for lost
//     or cancelled rows every second.
//  5. Record: each outcome goes to a process-wide writer that commits
//     outcomes of every batch in groups (every 20 ms or 100 outcomes), so an
//     email the relay accepted is in PostgreSQL within a bounded window. A
//     crash can repeat at most that window; nothing else is sent twice but
//     for RFC 1047's lost reply.
//
// The package knows the domain, templates and small interfaces of its own
// (Store, Renderer, Sender, Throttle); it knows nothing of asynq, HTTP, SQL
// or SMTP reply codes. Package jobs is its face on the task queue.
package delivery

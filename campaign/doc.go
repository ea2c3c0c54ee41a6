// Package campaign is the campaign use case (issue 14): one-off emails
// that marketing ops send to a segment, at a moment or at a local time in
// each contact's time zone, throttled, optionally A/B tested.
//
// Its pure core decides over plain values, with table tests and no
// database: which way a campaign's status may move (Transition), when each
// contact's email is due (Schedule.SendAt, with the time zone a contact's
// profile gives, sequence.ContactZone), how much a throttle lets one pass
// create (Throttle.Allowance), which contacts test which variant
// (ABTest.Assign) and which variant won (PickWinner). The Dispatcher is
// the fan-out that applies it through the Store it declares; Tester sends
// test emails.
package campaign

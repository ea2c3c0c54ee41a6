// Package campaign is the campaign use case (issue 14): one-off emails
// that marketing ops send to a segment, at a moment or at a local time in
// each contact's time zone, throttled, optionally A/B tested.
//
// This file set is its pure core, decisions over plain values with table
// tests and no database: which way a campaign's status may move
// (Transition), when each contact's email is due (Schedule.SendAt, with
// the time zone a contact's profile gives, sequence.ContactZone), how a
// throttle spaces a fan-out (Throttle.Slot), which contacts test which
// variant (ABTest.Assign) and which variant won (PickWinner). The fan-out,
// its store and its task come with the rest of the issue; they apply
// what this core decides, as the sequence engine applies sequence.Decide.
package campaign

package main

// The time-zone database is built in: dates in emails are written in each
// contact's zone, and the container image may have no zoneinfo files.
import _ "time/tzdata"

package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// HypotheticalEvent is an event a simulation assumes: what the contact
// would do, and when.
type HypotheticalEvent struct {
	Event      string         `json:"event"`
	At         time.Time      `json:"at"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Limits of the hypothetical events of one simulation.
const (
	// MaxHypotheticalEvents is the most events a simulation takes.
	MaxHypotheticalEvents = 1000
	// maxEventName is the longest event name, as ingestion allows.
	maxEventName = 200
)

// hypotheticalKeys are the keys an event of a simulation may have.
var hypotheticalKeys = []string{"event", "at", "after", "properties"}

// ParseHypotheticalEvents reads the hypothetical events of a simulation that
// starts at start: JSON lines, one object a line (blank lines and lines
// starting with # are skipped), or one JSON array of objects. Each object
// is {"event": NAME, "at": RFC 3339 time | "after": DURATION,
// "properties": {...}}: after counts from start (2d, 36h, 90m), and at
// may not be before start. The events come back sorted by time.
//
// A mistake is a *nurture.Error whose field says where it is, by line:
// "line 3: at" in JSON lines, "line 5 (element 2): at" in an array
// (elements count from 0).
func ParseHypotheticalEvents(data []byte, start time.Time) ([]HypotheticalEvent, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("\xef\xbb\xbf")) { // a byte order mark some editors write
		trimmed = bytes.TrimLeft(trimmed[3:], " \t\r\n")
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return parseEventArray(trimmed, lineOf(data, len(data)-len(trimmed)), start)
	}
	var out []HypotheticalEvent
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if i == 0 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name := lineNamer(i+1, "")
		if len(out) == MaxHypotheticalEvents {
			return nil, nurture.FieldError(name(""), "is past the %d events a simulation takes", MaxHypotheticalEvents)
		}
		e, err := parseHypotheticalEvent(line, name, start)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sortHypothetical(out)
	return out, nil
}

// parseEventArray reads a JSON array of events whose '[' is on line first.
func parseEventArray(data []byte, first int, start time.Time) ([]HypotheticalEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, nurture.FieldError(fmt.Sprintf("line %d", first), "%s", jsonProblem(err))
	}
	var out []HypotheticalEvent
	for i := 0; dec.More(); i++ {
		line := first - 1 + lineOf(data, int(dec.InputOffset())+leadingSpace(data[dec.InputOffset():]))
		name := lineNamer(line, fmt.Sprintf("element %d", i))
		if i == MaxHypotheticalEvents {
			return nil, nurture.FieldError(name(""), "is past the %d events a simulation takes", MaxHypotheticalEvents)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				name = lineNamer(first-1+lineOf(data, len(data)), "")
			}
			return nil, nurture.FieldError(name(""), "%s", jsonProblem(err))
		}
		e, err := parseHypotheticalEvent(raw, name, start)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if _, err := dec.Token(); err != nil {
		at := int(dec.InputOffset())
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			at = len(data)
		}
		return nil, nurture.FieldError(fmt.Sprintf("line %d", first-1+lineOf(data, at)), "%s", jsonProblem(err))
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return nil, nurture.FieldError(fmt.Sprintf("line %d", first-1+lineOf(data, len(data)-len(rest))),
			"has more after the array's closing ]: give one array, or one event a line")
	}
	sortHypothetical(out)
	return out, nil
}

// ParseHypotheticalEventList reads the events of a request body's field (an
// array already split into its elements): mistakes name field[i].
func ParseHypotheticalEventList(field string, items []json.RawMessage, start time.Time) ([]HypotheticalEvent, error) {
	if len(items) > MaxHypotheticalEvents {
		return nil, nurture.FieldError(field, "has %d events; a simulation takes at most %d", len(items), MaxHypotheticalEvents)
	}
	out := make([]HypotheticalEvent, 0, len(items))
	for i, raw := range items {
		e, err := parseHypotheticalEvent(raw, fieldNamer(fmt.Sprintf("%s[%d]", field, i)), start)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sortHypothetical(out)
	return out, nil
}

// namer names an element of the input, or one of its keys, in mistakes.
type namer func(key string) string

// lineNamer names the keys of an event on line n of a file: "line 3: at".
func lineNamer(n int, elem string) namer {
	return func(key string) string {
		where := fmt.Sprintf("line %d", n)
		if elem != "" {
			where += " (" + elem + ")"
		}
		if key == "" {
			return where
		}
		return where + ": " + key
	}
}

// fieldNamer names the keys of an event of a request body: "events[2].at".
func fieldNamer(field string) namer {
	return func(key string) string {
		if key == "" {
			return field
		}
		return field + "." + key
	}
}

// parseHypotheticalEvent reads one event; name says where it is in mistakes.
func parseHypotheticalEvent(raw []byte, name namer, start time.Time) (HypotheticalEvent, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		msg := "is not an object such as {\"event\": \"setup_completed\", \"after\": \"2d\"}"
		if err != nil && !isTypeError(err) {
			msg = jsonProblem(err)
		}
		return HypotheticalEvent{}, nurture.FieldError(name(""), "%s", msg)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(hypotheticalKeys, k) {
			return HypotheticalEvent{}, nurture.FieldError(name(clip(k, 50)), "is not a key of an event: want %s", strings.Join(hypotheticalKeys, ", "))
		}
	}
	var e HypotheticalEvent
	ev, err := stringField(m, "event")
	switch {
	case err != nil:
		return e, nurture.FieldError(name("event"), "%v", err)
	case strings.TrimSpace(ev) == "":
		return e, nurture.FieldError(name("event"), "is required: the event's name, such as setup_completed")
	case len(ev) > maxEventName:
		return e, nurture.FieldError(name("event"), "is longer than %d bytes", maxEventName)
	case !utf8.ValidString(ev) || strings.ContainsRune(ev, 0):
		return e, nurture.FieldError(name("event"), "is not valid UTF-8 text")
	}
	e.Event = ev

	_, hasAt := m["at"]
	_, hasAfter := m["after"]
	switch {
	case hasAt && hasAfter:
		return e, nurture.FieldError(name("after"), "cannot be given with at: say when with one of them")
	case hasAt:
		s, err := stringField(m, "at")
		if err != nil {
			return e, nurture.FieldError(name("at"), "%v", err)
		}
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return e, nurture.FieldError(name("at"), "%q is not an RFC 3339 time such as 2026-03-02T09:00:00Z", clip(s, 60))
		}
		if at.Before(start) {
			return e, nurture.FieldError(name("at"), "is before the simulation starts (%s): events that happened are in the data already",
				start.UTC().Format(time.RFC3339))
		}
		e.At = at
	case hasAfter:
		s, err := stringField(m, "after")
		if err != nil {
			return e, nurture.FieldError(name("after"), "%v", err)
		}
		d, err := nurture.ParseDuration(s)
		if err != nil {
			return e, nurture.FieldError(name("after"), "%v", err)
		}
		e.At = start.Add(d)
	default:
		return e, nurture.FieldError(name("after"), "is required, or at: when the event happens (after: 2d, or at: an RFC 3339 time)")
	}

	if p, ok := m["properties"]; ok && string(bytes.TrimSpace(p)) != "null" {
		if err := json.Unmarshal(p, &e.Properties); err != nil {
			return e, nurture.FieldError(name("properties"), "is not an object of the event's properties")
		}
	}
	return e, nil
}

// stringField reads m[key] as a string ("" when it is missing).
func stringField(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("is not a string")
	}
	return s, nil
}

func sortHypothetical(es []HypotheticalEvent) {
	slices.SortStableFunc(es, func(a, b HypotheticalEvent) int { return a.At.Compare(b.At) })
}

// lineOf returns the 1-based line of the byte at offset in data.
func lineOf(data []byte, offset int) int {
	return bytes.Count(data[:min(offset, len(data))], []byte("\n")) + 1
}

// leadingSpace counts the JSON white space and commas before the next
// value, so that an element's line is where it starts.
func leadingSpace(data []byte) int {
	n := 0
	for n < len(data) && strings.IndexByte(" \t\r\n,", data[n]) >= 0 {
		n++
	}
	return n
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// jsonProblem says what is wrong with JSON that does not parse, without
// Go's package names.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return "is not valid JSON: " + strings.TrimPrefix(se.Error(), "json: ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "is not valid JSON: it ends too early"
	}
	return "is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

package api

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// Segment's limits: a call may be 32 KB, a batch 500 KB. Segment sets no
// number of calls per batch; Nurture does, as a batch is one transaction:
// 500 KB of tiny calls (17,000) held it for seconds. Segment's libraries
// send batches of 15 to 250 calls.
const (
	MaxCallBytes  = 32 << 10
	MaxBatchBytes = 500 << 10
	MaxBatchCalls = 1000
)

// readBody reads a request body of at most limit bytes, gunzipping it when
// it says Content-Encoding: gzip. The limit applies to the decompressed
// size too, so a small bomb cannot expand into a large allocation.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	tooLarge := nurture.Errorf(nurture.CodeTooLarge, "request body is larger than %d KB", limit>>10)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body := io.Reader(io.LimitReader(r.Body, limit+1))
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, nurture.Errorf(nurture.CodeInvalid, "body is not valid gzip: %v", err)
		}
		defer zr.Close()
		body, gzipped = io.LimitReader(zr, limit+1), true
	default:
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: "Content-Encoding", Message: fmt.Sprintf("%q is not supported (use gzip or none)", enc)}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge
		}
		// Whatever else the gzip reader finds wrong (a header, a checksum,
		// a corrupt deflate stream, a truncated body) is the sender's fault.
		if gzipped {
			return nil, nurture.Errorf(nurture.CodeInvalid, "body is not valid gzip: %v", err)
		}
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// readObject reads a request's body, at most limit bytes, as one JSON
// object (errors name the field "body").
func readObject(r *http.Request, limit int64) (map[string]any, error) {
	data, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	return decodeObject(data, "body")
}

// decodeObject parses one JSON object, keeping numbers exact (a card number
// sent as a number must not be rounded before it is masked).
func decodeObject(data []byte, field string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nurture.Errorf(nurture.CodeInvalid, "body is not valid JSON: %v", err)
	}
	if err := requireEnd(dec); err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &nurture.Error{Code: nurture.CodeInvalid, Field: field, Message: "must be a JSON object"}
	}
	return obj, nil
}

// requireEnd fails unless only white space follows the decoded value.
// (dec.More alone lets a stray "}" or "]" through.)
func requireEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return nurture.Errorf(nurture.CodeInvalid, "body has data after its JSON object")
	}
	return nil
}

// batchEnvelope is a /v1/batch body: its calls stay raw until each is
// checked, so that a call's own size can be limited.
type batchEnvelope struct {
	Batch   []json.RawMessage `json:"batch"`
	Context map[string]any    `json:"context"`
	SentAt  any               `json:"sentAt"`
}

func decodeBatch(data []byte) (*batchEnvelope, error) {
	var env batchEnvelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if want, ok := map[string]string{"batch": "an array of calls", "context": "an object"}[typeErr.Field]; ok {
				return nil, nurture.FieldError(typeErr.Field, "must be %s", want)
			}
			return nil, nurture.FieldError("body", "must be a JSON object with a batch array")
		}
		return nil, nurture.Errorf(nurture.CodeInvalid, "body is not valid JSON: %v", err)
	}
	if err := requireEnd(dec); err != nil {
		return nil, err
	}
	if env.Batch == nil {
		return nil, nurture.FieldError("batch", "is required: an array of calls")
	}
	if len(env.Batch) > MaxBatchCalls {
		return nil, &nurture.Error{Code: nurture.CodeTooLarge, Field: "batch",
			Message: fmt.Sprintf("has %d calls; a batch may have at most %d (send the rest in another)", len(env.Batch), MaxBatchCalls)}
	}
	return &env, nil
}

// callReader turns decoded calls into nurture.Calls: checked field by field,
// with errors naming the field as the caller wrote it (batch[3].userId).
type callReader struct {
	now        time.Time     // when the request arrived
	skew       time.Duration // receivedAt - sentAt, when the sender said sentAt
	prefix     string        // "batch[3]." inside a batch
	batchCtx   map[string]any
	newMessage func() string
}

func (r *callReader) fieldErr(field, format string, args ...any) error {
	return nurture.FieldError(r.prefix+field, format, args...)
}

// sentAtSkew reads sentAt: the sender's clock when it sent the request. The
// difference to our clock corrects every timestamp of the request, as
// Segment does.
func sentAtSkew(obj map[string]any, now time.Time, field string) (time.Duration, error) {
	v, ok := obj["sentAt"]
	if !ok || v == nil {
		return 0, nil
	}
	s, ok := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if !ok || err != nil {
		return 0, nurture.FieldError(field, "must be an ISO 8601 date-time such as 2026-11-29T10:00:00Z")
	}
	skew := now.Sub(t)
	if skew == math.MaxInt64 || skew == math.MinInt64 {
		// Sub saturates past 292 years: the correction would be wrong.
		return 0, nurture.FieldError(field, "is too far from the current time to correct timestamps by")
	}
	return skew, nil
}

// read checks one call of type typ (from the endpoint, or the batch item's
// own "type" when typ is "").
func (r *callReader) read(obj map[string]any, typ string) (call nurture.Call, err error) {
	if typ == "" {
		t, _ := obj["type"].(string)
		switch t {
		case "identify", "track", "page", "alias", "group":
			typ = t
		case "screen":
			typ = "page" // a mobile app's page view
		case "":
			return call, r.fieldErr("type", "is required (identify, track, page, screen, alias or group)")
		default:
			return call, r.fieldErr("type", "%q is not a call type (identify, track, page, screen, alias or group)", t)
		}
	}
	call.Type = nurture.EventType(typ)
	if err := storable(obj, strings.TrimSuffix(r.prefix, ".")); err != nil {
		return call, err
	}
	for k, v := range obj {
		if !identifierFields[k] {
			if masked, ok := nurture.ScrubCards(v); ok {
				obj[k] = masked
			}
		}
	}
	// The raw call is kept for the record, less its traits or properties,
	// which are stored beside it already, and less the API key a Segment
	// client may send as writeKey.
	call.Raw = make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "traits" && k != "properties" && k != "writeKey" {
			call.Raw[k] = v
		}
	}

	if call.UserID, err = r.id(obj, "userId"); err != nil {
		return call, err
	}
	if call.AnonymousID, err = r.id(obj, "anonymousId"); err != nil {
		return call, err
	}
	if call.MessageID, err = r.str(obj, "messageId", 255); err != nil {
		return call, err
	}
	if call.MessageID == "" {
		call.MessageID = r.newMessage()
	}
	if call.Timestamp, err = r.timestamp(obj); err != nil {
		return call, err
	}
	context, err := r.object(obj, "context")
	if err != nil {
		return call, err
	}
	for k, v := range r.batchCtx {
		if _, ok := context[k]; !ok {
			context[k] = v
		}
	}
	if call.Context, err = readContext(context, r.prefix); err != nil {
		return call, err
	}

	switch call.Type {
	case nurture.EventAlias:
		if call.PreviousID, err = r.id(obj, "previousId"); err != nil {
			return call, err
		}
		if call.PreviousID == "" {
			return call, r.fieldErr("previousId", "is required")
		}
		if call.UserID == "" {
			return call, r.fieldErr("userId", "is required")
		}
		return call, nil
	case nurture.EventTrack:
		if call.Name, err = r.str(obj, "event", 200); err != nil {
			return call, err
		}
		if call.Name == "" {
			return call, r.fieldErr("event", "is required")
		}
	case nurture.EventPage:
		if call.Name, err = r.str(obj, "name", 200); err != nil {
			return call, err
		}
	case nurture.EventGroup:
		if call.GroupID, err = r.id(obj, "groupId"); err != nil {
			return call, err
		}
		if call.GroupID == "" {
			return call, r.fieldErr("groupId", "is required")
		}
		call.Name = call.GroupID // stored as the event's name
	}
	if call.UserID == "" && call.AnonymousID == "" {
		return call, r.fieldErr("userId", "or anonymousId is required")
	}
	if call.Type == nurture.EventIdentify {
		traits, err := r.object(obj, "traits")
		if err != nil {
			return call, err
		}
		profile, err := ContactFromTraits(traits)
		if err != nil {
			var de *nurture.Error
			if errors.As(err, &de) && de.Field != "" {
				return call, r.fieldErr(de.Field, "%s", de.Message)
			}
			return call, err
		}
		call.Profile, call.Properties = profile, traits
		return call, nil
	}
	if call.Type == nurture.EventGroup {
		traits, err := r.object(obj, "traits")
		if err != nil {
			return call, err
		}
		company, err := CompanyFromTraits(traits)
		if err != nil {
			var de *nurture.Error
			if errors.As(err, &de) && de.Field != "" {
				return call, r.fieldErr(de.Field, "%s", de.Message)
			}
			return call, err
		}
		call.Company, call.Properties = company, traits
		return call, nil
	}
	if call.Properties, err = r.object(obj, "properties"); err != nil {
		return call, err
	}
	return call, nil
}

// id reads a user or anonymous id: a string, or a number as products send.
func (r *callReader) id(obj map[string]any, field string) (string, error) {
	switch v := obj[field].(type) {
	case nil:
		return "", nil
	case string:
		v = strings.TrimSpace(v)
		if len(v) > 255 {
			return "", r.fieldErr(field, "is longer than 255 characters")
		}
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", r.fieldErr(field, "must be a string")
}

func (r *callReader) str(obj map[string]any, field string, max int) (string, error) {
	switch v := obj[field].(type) {
	case nil:
		return "", nil
	case string:
		v = strings.TrimSpace(v)
		if len(v) > max {
			return "", r.fieldErr(field, "is longer than %d characters", max)
		}
		return v, nil
	}
	return "", r.fieldErr(field, "must be a string")
}

func (r *callReader) object(obj map[string]any, field string) (map[string]any, error) {
	switch v := obj[field].(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return v, nil
	}
	return nil, r.fieldErr(field, "must be an object")
}

// timestamp is when the call happened by the sender's clock, corrected by
// the request's clock skew; our arrival time when the sender did not say.
func (r *callReader) timestamp(obj map[string]any) (time.Time, error) {
	for _, field := range []string{"timestamp", "originalTimestamp"} {
		v, ok := obj[field]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil {
			return time.Time{}, r.fieldErr(field, "must be an ISO 8601 date-time such as 2026-11-29T10:00:00Z")
		}
		t = t.Add(r.skew).UTC()
		// One call dated in the far future would stay the contact's last
		// visit for good; one from long ago is not a visit worth a sequence.
		corrected := ""
		if r.skew != 0 {
			corrected = " once corrected by sentAt"
		}
		if t.Before(r.now.AddDate(-nurture.MaxEventAgeYears, 0, 0)) {
			return time.Time{}, r.fieldErr(field, "is %s%s, more than %d years ago", t.Format(time.RFC3339), corrected, nurture.MaxEventAgeYears)
		}
		if t.After(r.now.Add(nurture.MaxEventLead)) {
			return time.Time{}, r.fieldErr(field, "is %s%s, more than %g hours ahead of the current time", t.Format(time.RFC3339), corrected, nurture.MaxEventLead.Hours())
		}
		return t, nil
	}
	return r.now.UTC(), nil
}

// identifierFields are a call's ids. They are kept exact rather than masked
// when they look like card numbers: a numeric id passes the Luhn check one
// time in ten (Snowflake ids are 18 or 19 digits), and masking would merge
// two users whose ids end alike, or drop a call as a replay of another.
var identifierFields = map[string]bool{
	"userId": true, "anonymousId": true, "previousId": true, "groupId": true, "messageId": true,
}

// storable checks that the store can keep v, the decoded value of field:
// neither text nor jsonb in Postgres can hold a NUL character, and jsonb's
// numbers cannot be arbitrarily large or small. JSON numbers are doubles to
// every SDK, so a number a double cannot hold is refused.
func storable(v any, field string) error {
	bad := unstorable(v)
	if bad == nil {
		return nil
	}
	return nurture.FieldError(bad.field(field), "%s", bad.message)
}

// badValue is what unstorable found wrong, and where. The path is gathered
// on the way back up, so that a value that is fine costs no path at all.
type badValue struct {
	message string
	path    []string // ".key" and "[i]" segments, innermost first
}

// field names the bad value within field.
func (b *badValue) field(field string) string {
	var s strings.Builder
	s.WriteString(field)
	for i := len(b.path) - 1; i >= 0; i-- {
		seg := b.path[i]
		if s.Len() == 0 {
			seg = strings.TrimPrefix(seg, ".")
		}
		s.WriteString(seg)
	}
	return cmp.Or(s.String(), "body")
}

func unstorable(v any) *badValue {
	switch v := v.(type) {
	case string:
		if strings.ContainsRune(v, 0) {
			return &badValue{message: "contains a NUL character"}
		}
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		mantissa, _, _ := strings.Cut(strings.ToLower(v.String()), "e")
		if err != nil || (f == 0 && strings.ContainsAny(mantissa, "123456789")) {
			return &badValue{message: "is a number out of range"}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) {
				return &badValue{message: "has a key with a NUL character"}
			}
			if bad := unstorable(e); bad != nil {
				bad.path = append(bad.path, "."+k)
				return bad
			}
		}
	case []any:
		for i, e := range v {
			if bad := unstorable(e); bad != nil {
				bad.path = append(bad.path, "["+strconv.Itoa(i)+"]")
				return bad
			}
		}
	}
	return nil
}

// readContext picks what the call's context says about the person. The
// values fill typed profile fields: each must be one line, within the
// field's length (a longer user agent is cut short). prefix is the call's
// position in a batch.
func readContext(ctx map[string]any, prefix string) (nurture.CallContext, error) {
	s := func(k string) string {
		v, _ := ctx[k].(string)
		return strings.TrimSpace(v)
	}
	c := nurture.CallContext{IP: s("ip"), UserAgent: s("userAgent"), Locale: s("locale")}
	if max := nurture.ProfileFieldMax("user_agent"); len(c.UserAgent) > max {
		// Cut at a character boundary: half a character is not text.
		cut := max
		for cut > 0 && !utf8.RuneStart(c.UserAgent[cut]) {
			cut--
		}
		c.UserAgent = c.UserAgent[:cut]
	}
	for _, f := range []struct {
		key, field, value string
	}{{"ip", "last_ip", c.IP}, {"userAgent", "user_agent", c.UserAgent}, {"locale", "locale", c.Locale}} {
		if err := nurture.CheckLine(prefix+"context."+f.key, f.value, nurture.ProfileFieldMax(f.field)); err != nil {
			return c, err
		}
	}
	if tz := s("timezone"); tz != "" && len(tz) <= nurture.ProfileFieldMax("time_zone") {
		if _, err := time.LoadLocation(tz); err == nil && tz != "Local" {
			c.TimeZone = tz // a device's bad zone is dropped, not an error
		}
	}
	return c, nil
}

func randomMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "nurture-" + hex.EncodeToString(b)
}

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// nested returns depth levels of nesting: an object holding arrays in
// arrays, with 1 at the bottom.
func nested(depth int) string {
	return `{"a":` + strings.Repeat("[", depth-1) + "1" + strings.Repeat("]", depth-1) + `}`
}

// deepPath names the bottom container of nested(depth) within field.
func deepPath(field string, depth int) string {
	return field + ".a" + strings.Repeat("[0]", depth-2)
}

// Values nested deeper than 32 levels are refused with a 400 naming the
// field, in a single call or a batch, in properties, traits, context or any
// other field; 32 levels are stored.
func TestNestingDepthIsCapped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	call := func(field string, depth int) string {
		return `{"userId":"u1","event":"x","traits":{},"` + field + `":` + nested(depth) + `}`
	}
	tests := []struct {
		name, path, body, field string
	}{
		{"properties", "/v1/track", call("properties", api.MaxDepth+1), deepPath("properties", api.MaxDepth+1)},
		{"traits", "/v1/identify", call("traits", api.MaxDepth+1), deepPath("traits", api.MaxDepth+1)},
		{"context", "/v1/page", call("context", api.MaxDepth+1), deepPath("context", api.MaxDepth+1)},
		{"another field", "/v1/track", call("integrations", api.MaxDepth+1), deepPath("integrations", api.MaxDepth+1)},
		{"far too deep", "/v1/track", call("properties", 9990), deepPath("properties", api.MaxDepth+1)},
		{"in a batch", "/v1/batch", `{"batch":[{"type":"page","userId":"u1"},` + strings.TrimSuffix(call("properties", api.MaxDepth+1), "}") + `,"type":"track"}]}`,
			"batch[1]." + deepPath("properties", api.MaxDepth+1)},
		{"batch spelled otherwise", "/v1/batch", `{"Batch":[` + strings.TrimSuffix(call("properties", api.MaxDepth+1), "}") + `,"type":"track"}]}`,
			"Batch[0]." + deepPath("properties", api.MaxDepth+1)},
		{"batch context", "/v1/batch", `{"batch":[{"type":"page","userId":"u1"}],"context":` + nested(api.MaxDepth+1) + `}`, deepPath("context", api.MaxDepth+1)},
		{"in a key's value of a batch", "/v1/batch", `{"batch":[],"x":` + nested(40) + `}`, deepPath("x", api.MaxDepth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := requireError(t, b.post(t, tt.path, tt.body), http.StatusBadRequest, tt.field)
			require.Contains(t, e.Error.Message, "32 levels")
		})
	}
	t.Run("32 levels are fine", func(t *testing.T) {
		t.Parallel()
		requireSuccess(t, b.post(t, "/v1/track", `{"userId":"u2","event":"x","messageId":"deep-32","properties":`+nested(api.MaxDepth)+`,"context":`+nested(api.MaxDepth)+`}`))
		requireSuccess(t, b.post(t, "/v1/identify", `{"userId":"u2","messageId":"deep-32-traits","traits":`+nested(api.MaxDepth)+`}`))
		requireSuccess(t, b.post(t, "/v1/batch", `{"batch":[{"type":"track","userId":"u2","event":"x","messageId":"deep-32-batch","properties":`+nested(api.MaxDepth)+`}],"context":`+nested(api.MaxDepth)+`}`))
		ev := b.event(t, "deep-32")
		data, err := json.Marshal(ev.Properties)
		require.NoError(t, err)
		require.JSONEq(t, nested(api.MaxDepth), string(data))
	})
}

// An over-deep body is refused cheaply: the 20 KB call nested 9,990 levels
// of the report allocated about 150 MB; now it costs less than its size a
// few times over. The test measures the process's allocations, so it runs
// alone: it does not call t.Parallel, and parallel tests wait for it.
func TestOverDeepBodyIsRefusedCheaply(t *testing.T) {
	b := setup(t)
	body := `{"userId":"u1","event":"x","properties":` + nested(9990) + `}`
	require.Less(t, len(body), 21<<10)
	b.post(t, "/v1/track", `{"userId":"u0","event":"warm-up"}`) // caches the key
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := b.post(t, "/v1/track", body)
	runtime.ReadMemStats(&after)
	requireError(t, res, http.StatusBadRequest, deepPath("properties", api.MaxDepth+1))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated to refuse a 20 KB body")
}

// Text that is not text (invalid UTF-8, a lone UTF-16 surrogate escape) is
// refused with a 400 naming the field, rather than stored with U+FFFD in
// its place; a surrogate pair is a character and is kept.
func TestTextMustBeValidUnicode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, path, body, field string
		gzip                    bool
	}{
		{"invalid UTF-8 in a property", "/v1/track", "{\"userId\":\"u1\",\"event\":\"x\",\"properties\":{\"note\":\"caf\xe9\"}}", "properties.note", false},
		{"invalid UTF-8 in a key", "/v1/track", "{\"userId\":\"u1\",\"event\":\"x\",\"properties\":{\"caf\xe9\":1}}", "properties", false},
		{"invalid UTF-8 in a top key", "/v1/track", "{\"userId\":\"u1\",\"event\":\"x\",\"\xff\":1}", "body", false},
		{"truncated character", "/v1/identify", "{\"userId\":\"u1\",\"traits\":{\"firstName\":\"Ad\xc3\"}}", "traits.firstName", false},
		{"overlong encoding", "/v1/track", "{\"userId\":\"u1\",\"event\":\"\xc0\xaf\"}", "event", false},
		{"lone high surrogate", "/v1/identify", `{"userId":"u1","traits":{"firstName":"Ada\ud800"}}`, "traits.firstName", false},
		{"lone low surrogate", "/v1/identify", `{"userId":"u1","traits":{"lastName":"\uDC00x"}}`, "traits.lastName", false},
		{"high surrogate then a letter", "/v1/page", `{"userId":"u1","name":"\ud83d\u0041"}`, "name", false},
		{"surrogate in a key", "/v1/track", `{"userId":"u1","event":"x","properties":{"a\ud800":1}}`, "properties", false},
		{"in an array", "/v1/track", `{"userId":"u1","event":"x","properties":{"list":["ok","\udfff"]}}`, "properties.list[1]", false},
		{"in a batch", "/v1/batch", "{\"batch\":[{\"type\":\"page\",\"userId\":\"u1\"},{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"x\",\"properties\":{\"n\":\"\xfe\"}}]}", "batch[1].properties.n", false},
		{"in a batch context", "/v1/batch", `{"batch":[{"type":"page","userId":"u1"}],"context":{"page":{"title":"\ud800"}}}`, "context.page.title", false},
		{"gzipped", "/v1/track", "{\"userId\":\"u1\",\"event\":\"x\",\"properties\":{\"note\":\"\xed\xa0\x80\"}}", "properties.note", true},
		{"escaped key names the path", "/v1/track", `{"userId":"u1","event":"x","properties":{"a\"b":{"c":"\ud800"}}}`, `properties.a"b.c`, false},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				res := b.do(t, request{path: tt.path, body: []byte(tt.body), key: b.ingest, gzip: tt.gzip})
				requireError(t, res, http.StatusBadRequest, tt.field)
			})
		}
	})
	require.Equal(t, counts{}, b.counts(t), "nothing stored")

	requireSuccess(t, b.post(t, "/v1/identify", `{"userId":"u1","messageId":"pair","traits":{"firstName":"Ada \ud83d\ude00","note":"caf\u00e9 \uFFFD"}}`))
	c := b.contactByUser(t, "u1")
	require.Equal(t, "Ada 😀", c.FirstName)
	require.Equal(t, "café \uFFFD", c.Attributes["note"], "a U+FFFD the client sent is text")
}

// Traits that fill typed fields, above all those that reach email headers
// (names in To, the company in subjects), must be one line within a length;
// custom traits have limits on their number, names and text. Each refusal
// names the trait as the caller spelled it and stores nothing.
func TestTraitLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	many := func(n int) obj {
		traits := obj{}
		for i := range n {
			traits[fmt.Sprintf("custom_%03d", i)] = i
		}
		return traits
	}
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	tests := []struct {
		name   string
		traits obj
		field  string // "" when valid
	}{
		{"CR LF in a first name", obj{"firstName": "Ada\r\nBcc: all@example.com"}, "traits.firstName"},
		{"LF in a last name", obj{"last_name": "Love\nlace"}, "traits.last_name"},
		{"tab in a company", obj{"company": "Acme\tInc"}, "traits.company"},
		{"NEL (C1) in a title", obj{"title": "C\u0085TO"}, "traits.title"},
		{"DEL in a role", obj{"role": "Dev\u007f"}, "traits.role"},
		{"line separator in a name", obj{"name": "Ada\u2028Lovelace"}, "traits.name"},
		{"paragraph separator in a department", obj{"department": "R&D\u2029Ops"}, "traits.department"},
		{"LF in the company object's name", obj{"company": obj{"name": "Acme\nInc"}}, "traits.company.name"},
		{"company object's name not text", obj{"company": obj{"name": obj{"legal": "Acme"}}}, "traits.company.name"},
		{"first name of 101 characters", obj{"firstName": long(101)}, "traits.firstName"},
		{"first name of 100 characters", obj{"firstName": long(100)}, ""},
		{"full name too long", obj{"name": long(101) + " Lovelace"}, "traits.name"},
		{"company of 201 characters", obj{"company": long(201)}, "traits.company"},
		{"company object of 201 characters", obj{"company": obj{"name": long(201)}}, "traits.company.name"},
		{"title of 201 characters", obj{"title": long(201)}, "traits.title"},
		{"phone of 41 characters", obj{"phone": strings.Repeat("1", 41)}, "traits.phone"},
		{"email of 255 characters", obj{"email": strings.Repeat("a", 243) + "@example.com"}, "traits.email"},
		{"101 custom traits", many(101), "traits"},
		{"100 custom traits", many(100), ""},
		{"trait name of 101 characters", obj{strings.Repeat("k", 101): 1}, "traits"},
		{"custom text of 2001 characters", obj{"notes": long(2001)}, "traits.notes"},
		{"custom text of 2000 characters", obj{"notes": long(2000)}, ""},
		{"long text deep in a custom trait", obj{"history": obj{"items": []any{"ok", long(2001)}}}, "traits.history.items[1]"},
		{"line breaks in custom text", obj{"notes": "line one\nline two"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			user := fmt.Sprintf("user-%d", i)
			for _, batch := range []bool{false, true} {
				var res response
				field := tt.field
				if batch {
					res = b.post(t, "/v1/batch", obj{"batch": []obj{
						{"type": "track", "userId": user, "event": "x"},
						{"type": "identify", "userId": user, "traits": tt.traits},
					}})
					if field != "" {
						field = "batch[1]." + field
					}
				} else {
					res = b.post(t, "/v1/identify", obj{"userId": user, "traits": tt.traits})
				}
				if tt.field == "" {
					requireSuccess(t, res)
					continue
				}
				requireError(t, res, http.StatusBadRequest, field)
				var n int
				require.NoError(t, b.pool.QueryRow(context.Background(),
					`SELECT count(*) FROM contacts WHERE external_id = $1`, user).Scan(&n))
				require.Zero(t, n, "nothing stored")
			}
		})
	}
}

// The context's values that fill the profile (ip, userAgent, locale) must be
// one line within a length too; a user agent too long is cut, as before.
func TestContextValuesAreOneLine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, path string
		body       obj
		field      string
	}{
		{"CR in the ip", "/v1/track", obj{"userId": "u1", "event": "x", "context": obj{"ip": "192.0.2.1\r\nX-Evil: 1"}}, "context.ip"},
		{"LF in the user agent", "/v1/page", obj{"userId": "u1", "context": obj{"userAgent": "Mozilla/5.0\nX-Evil: 1"}}, "context.userAgent"},
		{"ip of 65 characters", "/v1/track", obj{"userId": "u1", "event": "x", "context": obj{"ip": strings.Repeat("1", 65)}}, "context.ip"},
		{"locale of 36 characters", "/v1/identify", obj{"userId": "u1", "context": obj{"locale": strings.Repeat("a", 36)}}, "context.locale"},
		{"in a batch call", "/v1/batch", obj{"batch": []obj{{"type": "page", "userId": "u1"}, {"type": "page", "userId": "u1", "context": obj{"ip": "192.0.2.1\u2028x"}}}}, "batch[1].context.ip"},
		{"in the batch context", "/v1/batch", obj{"batch": []obj{{"type": "page", "userId": "u1"}}, "context": obj{"userAgent": "a\u0085b"}}, "context.userAgent"},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireError(t, b.post(t, tt.path, tt.body), http.StatusBadRequest, tt.field)
			})
		}
	})
	require.Equal(t, counts{}, b.counts(t))

	requireSuccess(t, b.post(t, "/v1/page", obj{"userId": "u1", "context": obj{"userAgent": strings.Repeat("é", 600)}}))
	require.Equal(t, strings.Repeat("é", 256), b.contactByUser(t, "u1").UserAgent, "cut at 512 bytes, between characters")
}

// A call's time, once corrected by sentAt, must be within 5 years before
// and a day after its arrival (by the API's clock): one call dated 9999
// would otherwise be the contact's last visit for good.
func TestTimestampWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name  string
		call  obj
		field string // "" when accepted
		want  time.Time
	}{
		{"five years back", obj{"timestamp": ts(received.AddDate(-5, 0, 0))}, "", received.AddDate(-5, 0, 0)},
		{"a second more", obj{"timestamp": ts(received.AddDate(-5, 0, 0).Add(-time.Second))}, "timestamp", time.Time{}},
		{"a day ahead", obj{"timestamp": ts(received.Add(24 * time.Hour))}, "", received.Add(24 * time.Hour)},
		{"a second more ahead", obj{"timestamp": ts(received.Add(24*time.Hour + time.Second))}, "timestamp", time.Time{}},
		{"year 9999", obj{"timestamp": "9999-12-31T23:59:59Z"}, "timestamp", time.Time{}},
		{"year 1", obj{"originalTimestamp": "0001-01-01T00:00:00Z"}, "originalTimestamp", time.Time{}},
		{"a device ten years ahead, corrected", obj{"timestamp": "2036-03-02T11:00:00Z", "sentAt": "2036-03-02T12:00:00Z"}, "", received.Add(-time.Hour)},
		{"a device at 1970, corrected", obj{"timestamp": "1970-01-01T00:00:00Z", "sentAt": "1970-01-01T00:00:10Z"}, "", received.Add(-10 * time.Second)},
		{"in the window, but not once corrected", obj{"timestamp": "2026-03-02T11:00:00Z", "sentAt": "2016-03-02T11:00:00Z"}, "timestamp", time.Time{}},
		{"sentAt beyond correcting", obj{"timestamp": "2026-03-02T11:00:00Z", "sentAt": "1500-01-01T00:00:00Z"}, "sentAt", time.Time{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			call := obj{"userId": "u1", "event": "x", "messageId": fmt.Sprintf("window-%d", i)}
			for k, v := range tt.call {
				call[k] = v
			}
			res := b.post(t, "/v1/track", call)
			// In a batch, sentAt is the batch's.
			batchCall := obj{"type": "track"}
			for k, v := range call {
				batchCall[k] = v
			}
			delete(batchCall, "sentAt")
			batchCall["messageId"] = call["messageId"].(string) + "-batch"
			batch := obj{"batch": []obj{goodCalls(1)[0], batchCall}}
			if sentAt, ok := call["sentAt"]; ok {
				batch["sentAt"] = sentAt
			}
			batchRes := b.post(t, "/v1/batch", batch)
			if tt.field != "" {
				requireError(t, res, http.StatusBadRequest, tt.field)
				field := "batch[1]." + tt.field
				if tt.field == "sentAt" {
					field = "sentAt"
				}
				requireError(t, batchRes, http.StatusBadRequest, field)
				return
			}
			requireSuccess(t, res)
			requireSuccess(t, batchRes)
			require.Equal(t, tt.want, b.event(t, call["messageId"].(string)).OccurredAt.UTC())
			require.Equal(t, tt.want, b.event(t, batchCall["messageId"].(string)).OccurredAt.UTC())
		})
	}
}

// identifyKeys posts an identify for user setting the custom traits
// prefix_0 ... prefix_{n-1}.
func identifyKeys(t *testing.T, b *bundle, user, prefix string, n int) response {
	t.Helper()
	traits := obj{}
	for i := range n {
		traits[fmt.Sprintf("%s_%d", prefix, i)] = i
	}
	return b.post(t, "/v1/identify", obj{"userId": user, "traits": traits})
}

// attributeCount is how many custom attributes user's contact has.
func attributeCount(t *testing.T, b *bundle, user string) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM contacts, jsonb_object_keys(attributes) WHERE external_id = $1`, user).Scan(&n))
	return n
}

// A contact holds at most 500 custom attributes, across calls: the call
// that would pass the limit is refused with a 400 naming its traits (in a
// batch, the call's position, and the batch stores nothing). Calls that
// only change attributes the contact has still pass.
func TestCustomAttributesPerContact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range nurture.MaxAttributes / nurture.MaxAttributesPerCall {
		requireSuccess(t, identifyKeys(t, b, "u1", fmt.Sprintf("call%d", i), nurture.MaxAttributesPerCall))
	}
	require.Equal(t, nurture.MaxAttributes, attributeCount(t, b, "u1"))

	e := requireError(t, identifyKeys(t, b, "u1", "more", 1), http.StatusBadRequest, "traits")
	require.Contains(t, e.Error.Message, "at most 500")
	require.Equal(t, nurture.MaxAttributes, attributeCount(t, b, "u1"))

	before := b.counts(t)
	calls := goodCalls(100)
	calls[57] = obj{"type": "identify", "userId": "u1", "messageId": "over", "traits": obj{"one_more": true}}
	requireError(t, b.post(t, "/v1/batch", obj{"batch": calls}), http.StatusBadRequest, "batch[57].traits")
	require.Equal(t, before, b.counts(t), "the batch is refused whole")

	// What the contact has already may change, with typed fields.
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u1", "traits": obj{"call0_1": "changed", "firstName": "Ada"}}))
	c := b.contactByUser(t, "u1")
	require.Equal(t, "changed", c.Attributes["call0_1"])
	require.Equal(t, "Ada", c.FirstName)
}

// The limit holds when calls for one contact arrive at once: eight
// concurrent calls of 100 new attributes each, for a known user and for a
// user they create, leave exactly 500 and refuse three calls.
func TestCustomAttributesPerContactUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "known"}))
	for _, user := range []string{"known", "new"} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			statuses := make([]int, 8)
			for i := range statuses {
				wg.Go(func() {
					statuses[i] = identifyKeys(t, b, user, fmt.Sprintf("g%d", i), nurture.MaxAttributesPerCall).status
				})
			}
			wg.Wait()
			ok := 0
			for _, s := range statuses {
				require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, s)
				if s == http.StatusOK {
					ok++
				}
			}
			require.Equal(t, 5, ok, "statuses %v", statuses)
			require.Equal(t, nurture.MaxAttributes, attributeCount(t, b, user))
		})
	}
}

// Anonymous identify calls were accepted when they came; when an identify
// links their id to a contact, their traits fill it up to the limit and the
// rest is left out with a warning, not an error.
func TestAnonymousTraitsJoinWithinTheLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 6 {
		traits := obj{}
		for k := range nurture.MaxAttributesPerCall {
			traits[fmt.Sprintf("anon%d_%03d", i, k)] = k
		}
		requireSuccess(t, b.post(t, "/v1/identify", obj{"anonymousId": "a1", "traits": traits,
			"timestamp": at(10, i)}))
	}
	res := b.post(t, "/v1/identify", obj{"userId": "u1", "anonymousId": "a1", "traits": obj{"email": "ada@example.com"}})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var answer struct {
		Success  bool
		Warnings []struct{ Field, Message string }
	}
	require.NoError(t, json.Unmarshal(res.body, &answer))
	require.True(t, answer.Success)
	require.NotEmpty(t, answer.Warnings)
	require.Equal(t, "traits", answer.Warnings[0].Field)
	require.Contains(t, answer.Warnings[0].Message, "at most 500")
	require.Equal(t, nurture.MaxAttributes, attributeCount(t, b, "u1"))
	require.Equal(t, 7, b.counts(t).Events, "every call is kept")
}

// Every limit refuses the whole batch, whichever call breaks it, and the
// error names that call.
func TestBatchWithOneBadCallStoresNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name  string
		bad   obj
		field string
	}{
		{"too deep", obj{"type": "track", "userId": "u1", "event": "x", "properties": json.RawMessage(nested(api.MaxDepth + 1))}, "batch[42]." + deepPath("properties", api.MaxDepth+1)},
		{"lone surrogate", obj{"type": "track", "userId": "u1", "event": "x", "properties": json.RawMessage(`{"a":"\ud800"}`)}, "batch[42].properties.a"},
		{"line break in a name", obj{"type": "identify", "userId": "u1", "traits": obj{"firstName": "A\nB"}}, "batch[42].traits.firstName"},
		{"too many custom traits", obj{"type": "identify", "userId": "u1", "traits": func() obj {
			o := obj{}
			for i := range 101 {
				o[fmt.Sprint(i)] = i
			}
			return o
		}()}, "batch[42].traits"},
		{"dated 9999", obj{"type": "track", "userId": "u1", "event": "x", "timestamp": "9999-01-01T00:00:00Z"}, "batch[42].timestamp"},
		{"bad context", obj{"type": "page", "userId": "u1", "context": obj{"ip": "1\n2"}}, "batch[42].context.ip"},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				requireError(t, b.post(t, "/v1/batch", withCall(42, tt.bad)), http.StatusBadRequest, tt.field)
			})
		}
	})
	require.Equal(t, counts{}, b.counts(t))
}

// A batch holds at most 1,000 calls: it is one transaction, and 500 KB of
// tiny calls would hold it for seconds. Past it, 413 naming the batch.
func TestBatchCallsAreCapped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	calls := make([]obj, api.MaxBatchCalls+1)
	for i := range calls {
		calls[i] = obj{"type": "page", "userId": "u1", "messageId": fmt.Sprint("p", i)}
	}
	e := requireError(t, b.post(t, "/v1/batch", obj{"batch": calls}), http.StatusRequestEntityTooLarge, "batch")
	require.Contains(t, e.Error.Message, "at most 1000")
	require.Equal(t, counts{}, b.counts(t))
	requireSuccess(t, b.post(t, "/v1/batch", obj{"batch": calls[:api.MaxBatchCalls]}))
	require.Equal(t, api.MaxBatchCalls, b.counts(t).Events)
}

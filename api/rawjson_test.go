package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestCheckRaw(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name  string
		body  string
		batch bool
		field string // "" when fine
	}{
		{"plain call", `{"userId":"u1","properties":{"a":[1,{"b":"c"}]}}`, false, ""},
		{"32 levels in a field", `{"p":` + deep(32) + `}`, false, ""},
		{"33 levels in a field", `{"p":` + deep(33) + `}`, false, "p" + strings.Repeat("[0]", 32)},
		{"index counts elements", `{"p":[1,"x,y",{"a":1},[` + deep(32) + `]]}`, false, "p[3]" + strings.Repeat("[0]", 31)},
		{"keys after strings with commas", `{"p":{"a":"x,y","b\"c":{"d":"\ud800"}}}`, false, `p.b"c.d`},
		{"escaped key", `{"p":{"\u0061b":"\udc00"}}`, false, "p.ab"},
		{"bad key at the top", `{"\ud800":1}`, false, "body"},
		{"bad key deeper", `{"p":{"ok":1,"\ud800":1}}`, false, "p"},
		{"escaped backslash before a quote", `{"p":"a\\","q":"\ud800"}`, false, "q"},
		{"valid pair", `{"p":"\ud83d\ude00 \uD83D\uDE00"}`, false, ""},
		{"high then high", `{"p":"\ud83d\ud83d\ude00"}`, false, "p"},
		{"high at the end", `{"p":"\ud83d"}`, false, "p"},
		{"high then short escape", `{"p":"\ud83d\n"}`, false, "p"},
		{"invalid UTF-8", "{\"p\":[\"ok\",\"\xff\"]}", false, "p[1]"},
		{"batch items are calls", `{"batch":[{"p":` + deep(32) + `}],"context":` + deep(32) + `}`, true, ""},
		{"batch item too deep", `{"batch":[{},{"p":` + deep(33) + `}]}`, true, "batch[1].p" + strings.Repeat("[0]", 32)},
		{"batch context too deep", `{"batch":[],"context":` + deep(33) + `}`, true, "context" + strings.Repeat("[0]", 32)},
		{"a single call has no batch", `{"batch":[{"p":` + deep(32) + `}]}`, false, "batch[0].p" + strings.Repeat("[0]", 30)},
		{"malformed is the decoder's", `]]]{"p":`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkRaw([]byte(tt.body), tt.batch)
			if tt.field == "" {
				require.NoError(t, err, "refused")
				return
			}
			var e *nurture.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, nurture.CodeInvalid, e.Code, err)
			require.Equal(t, tt.field, e.Field, err)
		})
	}
}

// FuzzCheckRaw compares checkRaw with encoding/json on valid JSON: what it
// accepts decodes without a U+FFFD the client did not write, and nests no
// deeper than MaxDepth below a field; what it refuses for its text decodes
// with a U+FFFD in place of what was wrong, and what it refuses for depth
// is deeper.
func FuzzCheckRaw(f *testing.F) {
	for _, s := range []string{`{"p":{"a":[1,"x"]}}`, `{"p":"\ud800"}`, "{\"p\":\"\xff\"}", `{"p":"\ud83d\ude00"}`,
		`{"p":` + strings.Repeat("[", 33) + strings.Repeat("]", 33) + `}`, `{"a\"b":"\\"}`, `{"p":"\uFFFD"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkRaw(data, false)
		if !json.Valid(data) {
			return // the decoder refuses it, whatever checkRaw said
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		sentFFFD := bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`))
		if err == nil {
			require.False(t, hasFFFD(v) && !sentFFFD, "accepted %q, which decodes with U+FFFD", data)
			require.LessOrEqual(t, fieldDepth(v), MaxDepth, "accepted %q, too deep", data)
			return
		}
		msg := err.Error()
		switch {
		case strings.Contains(msg, "levels deep"):
			require.Greater(t, fieldDepth(v), MaxDepth, "refused %q as too deep: %v", data, err)
		case strings.Contains(msg, "UTF") || strings.Contains(msg, "surrogate"):
			require.True(t, hasFFFD(v), "refused %q, which decodes without U+FFFD: %v", data, err)
		default:
			require.Failf(t, "unexpected error", "for %q: %v", data, err)
		}
	})
}

// fieldDepth is how deep the deepest field of v nests: the depth of v less
// one for the call object holding the fields (v itself when v is not an
// object or array).
func fieldDepth(v any) int {
	var depth func(v any) int
	depth = func(v any) int {
		d := 0
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				d = max(d, depth(e))
			}
			return d + 1
		case []any:
			for _, e := range v {
				d = max(d, depth(e))
			}
			return d + 1
		}
		return 0
	}
	return max(depth(v)-1, 0)
}

func hasFFFD(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, '\uFFFD')
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, '\uFFFD') || hasFFFD(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasFFFD(e) {
				return true
			}
		}
	}
	return false
}

// BenchmarkCheckRaw scans batch bodies of growing size: the cost per byte
// (MB/s) stays the same, and nothing is allocated.
func BenchmarkCheckRaw(b *testing.B) {
	call := `{"type":"track","userId":"user-42","event":"Report Created","messageId":"m-1",` +
		`"properties":{"title":"Q3 numbers, café ☕","tags":["a","b"],"n":3,"nested":{"deep":[{"x":"\u00e9\ud83d\ude00"}]}},` +
		`"context":{"ip":"203.0.113.7","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3)","page":{"url":"https://example.com/a?b=c"}}}`
	for _, n := range []int{1, 10, 100, 1000} {
		body := []byte(`{"batch":[` + strings.TrimSuffix(strings.Repeat(call+",", n), ",") + `]}`)
		b.Run(strconv.Itoa(len(body)>>10)+"KB", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkRaw(body, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

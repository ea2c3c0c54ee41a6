package nurture_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestMaskCard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" when the value must be left alone
	}{
		{"4242424242424242", "**** 4242"},
		{"4242 4242 4242 4242", "**** 4242"},
		{"4242-4242-4242-4242", "**** 4242"},
		{"378282246310005", "**** 0005"},  // Amex, 15 digits
		{"6011111111111117", "**** 1117"}, // Discover
		{"4222222222222", "**** 2222"},    // 13-digit Visa
		{"6250941006528599", "**** 8599"}, // UnionPay 16
		{"4242424242424241", ""},          // fails Luhn
		{"424242424242", ""},              // 12 digits
		{"42424242424242424242", ""},      // 20 digits
		{"+1 415 555 0100", ""},           // a phone number
		{"2026-11-29", ""},                // a date
		{" 4242424242424242", ""},         // leading separator handled by callers' trim
		{"4242424242424242x", ""},         // not only digits
		{"order 4242424242424242", ""},    // free text is not a card value
		{"0000000000000", "**** 0000"},    // Luhn-valid zeros: masked, better safe
		{"--4242424242424242", ""},        // separators must be inside
	}
	for _, tt := range tests {
		got, ok := nurture.MaskCard(tt.in)
		require.Equal(t, tt.want != "", ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestScrubCardsEverywhereInAPayload(t *testing.T) {
	t.Parallel()
	raw := `{"card":"4242 4242 4242 4242","nested":{"list":["x", 4242424242424242, {"pan":"378282246310005"}]},"ok":"hello","n":12}`
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	out, changed := nurture.ScrubCards(v)
	require.True(t, changed)
	data, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"card":"**** 4242","nested":{"list":["x","**** 4242",{"pan":"**** 0005"}]},"ok":"hello","n":12}`, string(data))
	require.False(t, bytes.Contains(data, []byte("4242424242424242")))
}

func FuzzScrubCards(f *testing.F) {
	f.Add(`{"card":"4242 4242 4242 4242"}`)
	f.Add(`[4242424242424242, "6011-1111-1111-1117", {"a": {"b": ["378282246310005"]}}]`)
	f.Add(`"plain"`)
	f.Fuzz(func(t *testing.T, raw string) {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		out, _ := nurture.ScrubCards(v)
		// Nothing that still looks like a card survives.
		var check func(any)
		check = func(v any) {
			switch v := v.(type) {
			case string:
				if _, ok := nurture.MaskCard(strings.TrimSpace(v)); ok {
					t.Fatalf("card-like value %q survived", v)
				}
			case json.Number:
				if _, ok := nurture.MaskCard(v.String()); ok {
					t.Fatalf("card-like number %q survived", v)
				}
			case map[string]any:
				for _, e := range v {
					check(e)
				}
			case []any:
				for _, e := range v {
					check(e)
				}
			}
		}
		check(out)
	})
}

// BenchmarkScrubCards measures the scrubber on what calls carry: a typical
// call's values (no card), two kilobytes of text full of numbers that are
// not cards, and a note with a card number in it.
func BenchmarkScrubCards(b *testing.B) {
	decode := func(raw string) any {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	typical := decode(`{"event":"Order Completed","properties":{"orderId":"50314b8e9bcf000000000000","total":27.5,
		"revenue":25,"currency":"USD","products":[{"sku":"45790-32","name":"Monopoly: 3rd Edition","price":19,"quantity":1},
		{"sku":"46493-32","name":"Uno Card Game","price":3,"quantity":2}],"url":"https://example.com/checkout/20260302?step=3"},
		"context":{"ip":"203.0.113.7","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15",
		"page":{"path":"/checkout","referrer":"https://example.com/cart","title":"Checkout"},"locale":"en-US"}}`)
	var text strings.Builder
	for text.Len() < 2<<10 {
		text.WriteString("Call +1 415 555 0100 on 2026-03-02 about order 1234-5678-90, ref 20260302123045. ")
	}
	numbers := decode(`{"note":` + strconvQuote(text.String()) + `}`)
	note := "paid with 5555-5555-5555-4444 on 2026-03-02, thanks"
	for _, bb := range []struct {
		name string
		v    func() any
	}{
		{"typical call", func() any { return typical }},
		{"2KB of numbers", func() any { return numbers }},
		{"card in a note", func() any { return map[string]any{"note": note} }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				nurture.ScrubCards(bb.v())
			}
		})
	}
}

func strconvQuote(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

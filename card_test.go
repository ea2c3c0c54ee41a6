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
	raw := `{"card":"4242 4242 4242 4242","nested":{"list":["x", 4242424242424242, {"pan":"378282246310005"}]},"ok":"hello","n":12,
		"note":"paid with 5555-5555-5555-4444, thanks","url":"https://example.com/pay?pan=4242424242424242&x=1",
		"cards":{"6011111111111117":"discover"}}`
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	out, changed := nurture.ScrubCards(v)
	require.True(t, changed)
	data, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"card":"**** 4242","nested":{"list":["x","**** 4242",{"pan":"**** 0005"}]},"ok":"hello","n":12,
		"note":"paid with **** 4444, thanks","url":"https://example.com/pay?pan=**** 4242&x=1","cards":{"**** 1117":"discover"}}`, string(data))
	for _, card := range []string{"4242424242424242", "5555-5555-5555-4444", "6011111111111117"} {
		require.False(t, bytes.Contains(data, []byte(card)), card)
	}
}

// Card numbers written inside text are masked where they stand; numbers
// that are not cards (no card prefix, failing Luhn, too short or too long,
// touching other digits) are left alone.
func TestMaskCardsInText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string // want "" when the text must be left alone
	}{
		{"dashes", "paid with 5555-5555-5555-4444", "paid with **** 4444"},
		{"spaces", "card 4242 4242 4242 4242 ok", "card **** 4242 ok"},
		{"no separators", "x4242424242424242y", "x**** 4242y"},
		{"amex groups", "amex 3782 822463 10005.", "amex **** 0005."},
		{"two cards", "4242424242424242 and 5105105105105100", "**** 4242 and **** 5100"},
		{"mastercard 2-series", "2223000048400011", "**** 0011"},
		{"diners 14 digits", "card: 30569309025904", "card: **** 5904"},
		{"jcb", "3530111333300000", "**** 0000"},
		{"unionpay 19 digits", "6212345678901264 is not, 6212 3456 7890 1234 569 is", "6212345678901264 is not, **** 4569 is"},
		{"discover 65", "6500000000000002", "**** 0002"},
		{"card then expiry group", "4242 4242 4242 4242 0128", "**** 4242 0128"},
		{"reference before the card", "ref 12 4242424242424242", "ref 12 **** 4242"},
		// The kept last four and what follows form another card: masked too.
		{"chained", "4242424242424242 424242424242", "**** **** 4242"},
		{"Luhn-valid without a card prefix", "order 1234567812345670", ""},
		{"Luhn-valid zeros", "0000000000000", ""},
		{"fails Luhn", "4242424242424241", ""},
		{"12 digits", "424242424242", ""},
		{"20 digits in one group", "42424242424242424242", ""},
		{"double space breaks the run", "4242  4242 4242 4242", ""},
		{"mixed separators in a row", "4242 -4242-4242-4242", ""},
		{"phone and date", "+1 415 555 0100 on 2026-03-02", ""},
		{"timestamp", "1709380000123", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := nurture.MaskCardsInText(tt.in)
			if tt.want == "" {
				require.False(t, ok)
				require.Equal(t, tt.in, got)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.want, got)
			again, ok := nurture.MaskCardsInText(got)
			require.False(t, ok, "masking twice changes nothing")
			require.Equal(t, got, again)
		})
	}
}

// FuzzMaskCardsInText checks the text masker against a plain search over
// every stretch of the output: no card number is left in it, masking again
// changes nothing, and text without a card comes back as it was.
func FuzzMaskCardsInText(f *testing.F) {
	for _, s := range []string{"paid with 5555-5555-5555-4444", "4242424242424242 424242424242",
		"4242 4242 4242 4242 0128", "ref 12 4242424242424242", "+1 415 555 0100", "3782 822463 10005",
		"1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6", "4242-4242-4242-4242-4242-4242-4242", "é4242424242424242€"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, changed := nurture.MaskCardsInText(s)
		require.Empty(t, cardIn(out), "%q: the output %q still holds a card", s, out)
		require.False(t, !changed && out != s, "%q: changed to %q but not reported", s, out)
		require.False(t, changed && cardIn(s) == "", "%q: nothing to mask, yet changed to %q", s, out)
		again, ok := nurture.MaskCardsInText(out)
		require.False(t, ok, "%q: masking %q again changed it", s, out)
		require.Equal(t, out, again, "%q: masking %q again", s, out)
	})
}

// cardIn returns the first card number in s by brute force: every stretch
// from a digit not preceded by a digit to a digit not followed by one, with
// single spaces or dashes between digits, of 13 to 19 digits, that has a
// card prefix and passes Luhn. It shares no code with the masker.
func cardIn(s string) string {
	digit := func(i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }
	for i := 0; i < len(s); i++ {
		if !digit(i) || digit(i-1) {
			continue
		}
		var ds []int
		for j := i; j < len(s) && len(ds) < 19; j++ {
			if !digit(j) {
				if (s[j] == ' ' || s[j] == '-') && digit(j-1) && digit(j+1) {
					continue
				}
				break
			}
			ds = append(ds, int(s[j]-'0'))
			if len(ds) >= 13 && !digit(j+1) && prefixed(ds) && luhnValid(ds) {
				return s[i : j+1]
			}
		}
	}
	return ""
}

func prefixed(ds []int) bool {
	n := func(k int) int {
		v := 0
		for _, d := range ds[:k] {
			v = v*10 + d
		}
		return v
	}
	in := func(k, lo, hi int) bool { return n(k) >= lo && n(k) <= hi }
	return ds[0] == 4 || in(2, 51, 55) || in(4, 2221, 2720) || in(2, 34, 34) || in(2, 37, 37) ||
		in(4, 6011, 6011) || in(3, 644, 649) || in(2, 65, 65) || in(4, 3528, 3589) ||
		in(3, 300, 305) || in(2, 36, 36) || in(2, 38, 39) || in(2, 62, 62)
}

func luhnValid(ds []int) bool {
	sum := 0
	for i := range ds {
		d := ds[len(ds)-1-i]
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func FuzzScrubCards(f *testing.F) {
	f.Add(`{"card":"4242 4242 4242 4242"}`)
	f.Add(`[4242424242424242, "6011-1111-1111-1117", {"a": {"b": ["378282246310005"]}}]`)
	f.Add(`"plain"`)
	f.Add(`{"note":"paid with 5555-5555-5555-4444","4242424242424242 424242424242":["ref 12 4242424242424242"]}`)
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
				_, ok := nurture.MaskCard(strings.TrimSpace(v))
				require.False(t, ok, "card-like value %q survived", v)
				require.Empty(t, cardIn(v), "a card survived in %q", v)
			case json.Number:
				_, ok := nurture.MaskCard(v.String())
				require.False(t, ok, "card-like number %q survived", v)
			case map[string]any:
				for k, e := range v {
					require.Empty(t, cardIn(k), "a card survived in the key %q", k)
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

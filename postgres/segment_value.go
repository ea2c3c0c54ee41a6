package postgres

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nurture-email/nurture"
)

// A Compare of a segment, in SQL, gives what nurture's compare gives. The
// value a field holds is known in SQL only when the row is read, but its
// operand is known when the condition compiles, so each operator becomes
// the few tests that can hold for that operand:
//
//   - A value is present unless missing, JSON null, or text that is blank
//     once trimmed as strings.TrimSpace trims (btrim with those
//     characters). A missing value satisfies only neq and exists false.
//   - eq, neq and in: text equals text without regard to case, as
//     strings.EqualFold: both sides as lower(upper(...)) of the text, with
//     the Turkish dotted and dotless i kept apart (checked against
//     EqualFold for every code point with the database's C.UTF-8 libc
//     collation: the same classes). A number equals a number, or text
//     that spells one (segmentNumber); true and false equal themselves and
//     the words true and false. An ASCII word that no other kind's JSON
//     text can be, the common case, is compared more cheaply, with the same
//     answers (lowerIn).
//   - contains: text contains the operand (numbers written as
//     strconv.FormatFloat's 'g' does), lower() on both sides, as
//     strings.ToLower (the same mapping for every code point here); a
//     list contains an element equal to the operand (its elements trimmed
//     and blank ones left out).
//   - gt, gte, lt and lte: with a number, the value as a number (text that
//     spells one included; a NaN spelled in text compares as Go compares
//     it: neither below nor above, so it satisfies gte and lte); with a
//     date or time, text that Go's time.Parse reads in one of the layouts
//     of nurture's parseTimeValue, compared as instants (segmentTime). A
//     trait that is a number is compared as the decimal it is with the
//     bounds of the decimals that read as a float64 on the side asked for
//     (orderTrait).
//
// Text that spells a number is read as strconv.ParseFloat reads it except
// for hexadecimal floats (0x1p-2), which SQL takes for words, and text of
// more than 6,000 characters, which it does not read as a number.

// segmentValue is a field's value in SQL, by the kinds it may have: typed
// text, or jsonb of any kind. One expression is set; none when the field
// never has a value.
type segmentValue struct {
	text string // text, never NULL (a profile column), untrimmed
	json string // jsonb, NULL when missing
	// space is the placeholder of the characters trimmed from text.
	space string
	// str, when set, is the value's trimmed text (NULL when it is not
	// text), already read (see compare).
	strCol string
	// jsonTextPath, when set, is json's path with ->> for its last step
	// (jsonPath's): the value's text whatever its kind.
	jsonTextPath string
}

// str is the value when it is text, trimmed; NULL otherwise. "" when the
// value is never text.
func (v segmentValue) str() string {
	switch {
	case v.strCol != "":
		return v.strCol
	case v.text != "":
		return "btrim(" + v.text + ", " + v.space + ")"
	case v.json != "":
		return fmt.Sprintf("(CASE WHEN jsonb_typeof(%[1]s) = 'string' THEN btrim(%[1]s #>> '{}', %[2]s) END)", v.json, v.space)
	}
	return ""
}

// jsonText is a trait's text whatever its kind (the JSON text of a
// number, true, false, a list or an object; NULL when missing or null),
// read once: its path's last step with ->> where it has a path.
func (v segmentValue) jsonText() string {
	if v.jsonTextPath != "" {
		return v.jsonTextPath
	}
	return "(" + v.json + " #>> '{}')"
}

// ifString is test (which reads the value's text) asked only of a value
// that is text: NULL otherwise, as test itself would be, without the many
// reads of the value (each a lookup in the attributes) that finding so
// costs inside it.
func (v segmentValue) ifString(test string) string {
	if v.json == "" || v.strCol != "" {
		return test
	}
	return fmt.Sprintf("(CASE WHEN jsonb_typeof(%s) = 'string' THEN %s END)", v.json, test)
}

// number is the value when it is a number (NULL otherwise); "" when it
// never is.
func (v segmentValue) number() string {
	if v.json != "" {
		return fmt.Sprintf("(CASE WHEN jsonb_typeof(%[1]s) = 'number' THEN %[2]s END)", v.json, numericToFloat("("+v.json+")::numeric"))
	}
	return ""
}

// boolean is the value when it is true or false (NULL otherwise); "" when
// it never is.
func (v segmentValue) boolean() string {
	if v.json == "" {
		return ""
	}
	return fmt.Sprintf("(CASE WHEN jsonb_typeof(%[1]s) = 'boolean' THEN (%[1]s #>> '{}')::boolean END)", v.json)
}

// list is the value when it is a list (NULL otherwise); "" when it never
// is.
func (v segmentValue) list() string {
	if v.json == "" {
		return ""
	}
	return fmt.Sprintf("(CASE WHEN jsonb_typeof(%[1]s) = 'array' THEN %[1]s END)", v.json)
}

// present is true when the field has a value that is not blank: never NULL.
func (v segmentValue) present() string {
	switch {
	case v.text != "":
		return "(" + v.str() + " <> '')"
	case v.json != "" && v.strCol != "":
		return fmt.Sprintf("(coalesce(jsonb_typeof(%s) NOT IN ('null', 'string'), false) OR coalesce(%s <> '', false))", v.json, v.strCol)
	case v.json != "":
		return fmt.Sprintf("coalesce(jsonb_typeof(%[1]s) NOT IN ('null', 'string') OR btrim(%[1]s #>> '{}', %[2]s) <> '', false)", v.json, v.space)
	}
	return "FALSE"
}

// compare is nurture's compare of the field's value with operand.
//
// A test may look at the value many times, and reading a trait out of the
// attributes is a lookup each time. Inline, each kind of value pays only
// for the tests that can hold for it (ifString: a number is not read as
// text), so a test of a number reads it about six times; a date or time
// reads its text over a hundred times. Such a test (more than
// maxInlineReads in the SQL) reads the value once, with its trimmed text,
// in a scalar subquery (OFFSET 0 keeps PostgreSQL from folding it back
// into the expressions); it runs only when and, or and not get to the
// test, but it keeps the scan of the contacts from running in parallel,
// which on a million contacts mattered more (issue 14: see
// docs/benchmarks.md, "Segment preview"), so every other test is inline.
func (b *segmentCompiler) compare(op nurture.Op, v segmentValue, operand any) string {
	v.space = b.spaceArg()
	test := b.compareValue(op, v, operand)
	if v.json == "" || strings.Count(test, v.json) <= maxInlineReads {
		return test
	}
	x, y := b.alias("x"), b.alias("y")
	read := segmentValue{json: x + ".v", strCol: y + ".s", space: v.space}
	from := fmt.Sprintf("(SELECT %s AS v OFFSET 0) %s CROSS JOIN LATERAL (SELECT %s AS s OFFSET 0) %s",
		v.json, x, segmentValue{json: x + ".v", space: v.space}.str(), y)
	return "(SELECT " + b.compareValue(op, read, operand) + " FROM " + from + ")"
}

// maxInlineReads is how many reads of a value a test may spell out inline
// (see compare): a number compared (24) is, a date (over 100) is not.
const maxInlineReads = 40

// compareValue is compare of a value as it is read.
func (b *segmentCompiler) compareValue(op nurture.Op, v segmentValue, operand any) string {
	present := v.present()
	switch op {
	case nurture.OpExists:
		if want, _ := operand.(bool); want {
			return present
		}
		return "NOT " + present
	case nurture.OpNeq:
		if equalImpliesPresent([]any{operand}) {
			return "NOT " + b.anyEqual(v, []any{operand})
		}
		return "NOT (" + present + " AND " + b.anyEqual(v, []any{operand}) + ")"
	}
	var test string
	implied := false // the test holds only for a present value
	switch op {
	case nurture.OpEq:
		test, implied = b.anyEqual(v, []any{operand}), equalImpliesPresent([]any{operand})
	case nurture.OpIn:
		list, _ := operand.([]any)
		test, implied = b.anyEqual(v, list), equalImpliesPresent(list)
	case nurture.OpContains:
		test = b.contains(v, operand) // "" is in every text, blank included
	case nurture.OpGt, nurture.OpGte, nurture.OpLt, nurture.OpLte:
		// A number, numeric text or a date or time: never blank.
		test, implied = b.order(op, v, operand), true
	default:
		return "FALSE"
	}
	if test == "FALSE" || implied {
		return test
	}
	return "(" + present + " AND " + test + ")"
}

// equalImpliesPresent reports whether anyEqual of operands holds only for
// a present value, so that the test of presence (two more reads of the
// value, and a trim) can be left out: it does unless some operand is text
// that is blank once trimmed, which a blank text value equals. A number,
// numeric text, true or false, and text equal to a word that is not blank
// are all present.
func equalImpliesPresent(operands []any) bool {
	for _, o := range operands {
		if s, ok := o.(string); ok && strings.TrimSpace(s) == "" {
			return false
		}
	}
	return true
}

// orTests joins tests that may each be NULL into one that is not.
func orTests(tests []string) string {
	if len(tests) == 0 {
		return "FALSE"
	}
	for i, t := range tests {
		tests[i] = "coalesce(" + t + ", false)"
	}
	return "(" + strings.Join(tests, " OR ") + ")"
}

// anyEqual holds when the (present) value equals one of operands, as
// nurture's equal says: text to text without regard to case, numbers to
// numbers or to text that spells one, booleans to booleans or to the
// words true and false.
func (b *segmentCompiler) anyEqual(v segmentValue, operands []any) string {
	var words []string   // what text values are compared with
	var nums []float64   // what numbers and numeric text are compared with
	var numsOf []float64 // what numbers are compared with (nums and numeric text operands)
	var bools []bool     // what booleans are compared with
	for _, o := range operands {
		switch o := o.(type) {
		case float64:
			if !math.IsNaN(o) {
				nums = append(nums, o)
				numsOf = append(numsOf, o)
			}
		case string:
			if w, ok := asGoFolds(strings.TrimSpace(o)); ok {
				words = append(words, w)
			}
			if f, ok := goNumber(o); ok && !math.IsNaN(f) {
				numsOf = append(numsOf, f)
			}
			switch s := strings.TrimSpace(o); {
			case strings.EqualFold(s, "true"):
				bools = append(bools, true)
			case strings.EqualFold(s, "false"):
				bools = append(bools, false)
			}
		case bool:
			words = append(words, strconv.FormatBool(o))
			bools = append(bools, o)
		}
	}
	var tests []string
	if s := v.str(); s != "" {
		fast, slow := splitWords(v, words)
		if len(fast) > 0 {
			tests = append(tests, b.lowerIn(v, fast))
		}
		if t := b.oneOf(foldSQL(s), slow, func(w string) string { return foldSQL(b.text(w)) }, "text"); t != "" {
			tests = append(tests, v.ifString(t))
		}
		if len(nums) > 0 {
			tests = append(tests, v.ifString(b.floatIn(segmentNumber(s), nums)))
		}
	}
	if n := v.number(); n != "" && len(numsOf) > 0 {
		tests = append(tests, b.floatIn(n, numsOf))
	}
	if bv := v.boolean(); bv != "" && len(bools) > 0 {
		if len(bools) == 1 {
			tests = append(tests, bv+" = "+b.boolean(bools[0]))
		} else {
			tests = append(tests, bv+" = ANY("+b.param(bools)+"::boolean[])")
		}
	}
	return orTests(tests)
}

// splitWords parts the words a value's text is compared with: those that
// lowerIn may compare (lowerDecides, and a value read in one of the ways
// lowerIn reads), and the others, for foldSQL.
func splitWords(v segmentValue, words []string) (fast, slow []string) {
	if v.strCol != "" {
		return nil, words
	}
	for _, w := range words {
		if lowerDecides(w) {
			fast = append(fast, w)
		} else {
			slow = append(slow, w)
		}
	}
	return fast, slow
}

// lowerIn holds when the value's text, trimmed, equals one of words (each
// one lowerDecides) without regard to case. It reads the value as text
// whatever its kind (->> of a trait): a number, true, false, a list or an
// object reads as its JSON text, which no such word equals, so the kind
// need not be asked. Each value is first asked a cheap question that
// every match answers yes (likePattern: lower() of ASCII letters alone,
// and LIKE); of those, one that is the word once its ASCII letters are
// lowered is taken at once, and only the others are asked the exact
// question: for an ASCII word, lower() decides what strings.EqualFold
// does once the few characters in which they differ are replaced
// (lowerFixes). On a million contacts the exact test of each (its trim by
// 25 characters above all) cost more than reading them (issue 14: the
// typical preview's trait tests).
func (b *segmentCompiler) lowerIn(v segmentValue, words []string) string {
	text := v.text
	if text == "" {
		text = v.jsonText()
	}
	lowered, patterns := make([]string, len(words)), make([]string, len(words))
	for i, w := range words {
		lowered[i], patterns[i] = strings.ToLower(w), likePattern(w)
	}
	from, to := lowerFixes()
	exact := fmt.Sprintf("lower(translate(btrim(%s, %s), '%s', '%s'))", text, v.space, from, to)
	quick := "lower(" + text + ` COLLATE "C")`
	// A value whose ASCII letters lowered are the word is one (it is
	// ASCII, as the word, and has no spaces to trim): most matches are
	// taken so, without the exact test.
	if len(words) == 1 {
		w := b.text(lowered[0])
		return fmt.Sprintf("(%[1]s LIKE %[2]s AND (%[1]s = %[3]s OR %[4]s = %[3]s))", quick, b.text(patterns[0]), w, exact)
	}
	w := b.param(lowered) + "::text[]"
	return fmt.Sprintf("(%[1]s LIKE ANY(%[2]s::text[]) AND (%[1]s = ANY(%[3]s) OR %[4]s = ANY(%[3]s)))", quick, b.param(patterns), w, exact)
}

// likePattern is a LIKE pattern that the text of every value lowerIn finds
// equal to the ASCII word w matches once lower() has lowered its ASCII
// letters (COLLATE "C": the others are left as they are): w lowered,
// anywhere in it (the value's spaces are trimmed after), with any one
// character for s and k, which strings.EqualFold also finds in ſ and in
// the Kelvin sign (foldsBeyondASCII) (no other character is like an ASCII letter but the
// letter's two cases: TestLowerFixes).
func likePattern(w string) string {
	var p strings.Builder
	p.WriteByte('%')
	for _, c := range []byte(strings.ToLower(w)) {
		switch {
		case foldsBeyondASCII(c):
			p.WriteByte('_')
		case c == '%' || c == '_' || c == '\\':
			p.WriteByte('\\')
			p.WriteByte(c)
		default:
			p.WriteByte(c)
		}
	}
	p.WriteByte('%')
	return p.String()
}

// foldsBeyondASCII reports whether strings.EqualFold finds the ASCII
// character c like a character that is not ASCII (s like ſ, k like the
// Kelvin sign), where likePattern takes any character.
func foldsBeyondASCII(c byte) bool {
	for f := unicode.SimpleFold(rune(c)); f != rune(c); f = unicode.SimpleFold(f) {
		if f >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// lowerDecides reports whether lowerIn may compare a value with w: w is
// ASCII, and no JSON text a value of another kind reads as (numbers,
// true, false, null, lists, objects), so that lowerIn need not ask the
// value's kind.
func lowerDecides(w string) bool {
	if w == "" || strings.ContainsAny(w[:1], `[{"+-.0123456789`) {
		return false
	}
	for _, kw := range []string{"true", "false", "null"} {
		if strings.EqualFold(w, kw) {
			return false
		}
	}
	for i := range len(w) {
		if w[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lowerFixes are the characters in which lower() (unicode.ToLower for
// each character, as PostgreSQL's lower() here) and strings.EqualFold
// part on an ASCII word, and what each is replaced with before lower():
// a character that lower() makes ASCII but EqualFold finds unlike it (İ,
// which lower() makes i) becomes U+FDD0, which equals no ASCII character;
// one that EqualFold finds like an ASCII character but lower() does not
// make it (ſ, like s) becomes that character. Then, for every ASCII
// character c and every character x, lower(fix(x)) is lower(c) exactly
// when EqualFold(x, c) (TestLowerFixes checks every character).
var lowerFixes = sync.OnceValues(func() (from, to string) {
	var f, t strings.Builder
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		ascii := rune(-1) // the ASCII character EqualFold finds like r, if any
		for x := unicode.SimpleFold(r); x != r; x = unicode.SimpleFold(x) {
			if x < utf8.RuneSelf {
				ascii = x
			}
		}
		l := unicode.ToLower(r)
		switch {
		case ascii >= 0 && l != unicode.ToLower(ascii):
			f.WriteRune(r)
			t.WriteRune(unicode.ToLower(ascii))
		case ascii < 0 && l < utf8.RuneSelf:
			f.WriteRune(r)
			t.WriteRune('\uFDD0')
		}
	}
	return f.String(), t.String()
})

// oneOf compares expr with one value (scalar, as index expressions can
// use) or with several (a hashed list of them).
func (b *segmentCompiler) oneOf(expr string, words []string, one func(string) string, typ string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return expr + " = " + one(words[0])
	}
	x := b.alias("w")
	return fmt.Sprintf("%s IN (SELECT %s FROM unnest(%s::%s[]) %s(v))", expr, foldSQL(x+".v"), b.param(words), typ, x)
}

func (b *segmentCompiler) floatIn(expr string, nums []float64) string {
	if len(nums) == 1 {
		return expr + " = " + b.float(nums[0])
	}
	return expr + " = ANY(" + b.param(nums) + "::float8[])"
}

// contains: text containing the operand written as text, or a list with an
// element equal to it; a list operand holds when one of its elements does.
func (b *segmentCompiler) contains(v segmentValue, operand any) string {
	operands := flatten(operand)
	var tests []string
	if s := v.str(); s != "" {
		for _, o := range operands {
			needle, ok := o.(string)
			if !ok {
				needle = formatOperand(o)
			}
			if needle, ok = asGoFolds(needle); !ok {
				continue // no stored text holds a NUL
			}
			tests = append(tests, v.ifString("strpos(lower("+s+"), lower("+b.text(needle)+")) > 0"))
		}
	}
	if l := v.list(); l != "" && len(operands) > 0 {
		x := b.alias("x")
		elem := segmentValue{json: x + ".e", space: v.space}
		tests = append(tests, fmt.Sprintf("EXISTS (SELECT 1 FROM jsonb_array_elements(%s) %s(e) WHERE %s AND %s)",
			l, x, elem.present(), b.anyEqual(elem, operands)))
	}
	return orTests(tests)
}

// flatten lists the operands of a contains: a list's elements, those of
// lists within it too (Go's compare looks into each in turn).
func flatten(operand any) []any {
	list, ok := operand.([]any)
	if !ok {
		return []any{operand}
	}
	var out []any
	for _, e := range list {
		out = append(out, flatten(e)...)
	}
	return out
}

// formatOperand writes a scalar operand as nurture's formatValue does.
func formatOperand(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return strconv.Quote(v)
	}
	return "null"
}

var orderSQL = map[nurture.Op]string{nurture.OpGt: ">", nurture.OpGte: ">=", nurture.OpLt: "<", nurture.OpLte: "<="}

// order compares the value with a number, or with a date or time.
func (b *segmentCompiler) order(op nurture.Op, v segmentValue, operand any) string {
	sym := orderSQL[op]
	switch o := operand.(type) {
	case float64:
		if v.json != "" && v.strCol == "" && !math.IsNaN(o) && !math.IsInf(o, 0) {
			return b.orderTrait(op, v, o)
		}
		var tests []string
		for i, x := range []string{v.number(), segmentNumber(v.str())} {
			if x == "" || x == segmentNumber("") {
				continue
			}
			test := b.floatOrder(op, x, o)
			if test == "" {
				continue
			}
			if i == 1 {
				test = v.ifString(test) // numeric text
			}
			tests = append(tests, test)
		}
		return orTests(tests)
	case string:
		t, ok := goTime(o)
		s := v.str()
		if !ok || s == "" {
			return "FALSE"
		}
		return "coalesce(" + v.ifString(segmentTime(s, sym, b.param(t.Unix())+"::int8", b.param(int64(t.Nanosecond()))+"::int8")) + ", false)"
	}
	return "FALSE"
}

// floatOrder compares the float8 x with o as Go compares numbers ("" when
// it never holds).
func (b *segmentCompiler) floatOrder(op nurture.Op, x string, o float64) string {
	switch {
	case math.IsNaN(o):
		// Go's order finds every number neither below nor above NaN.
		if op == nurture.OpGte || op == nurture.OpLte {
			return x + " IS NOT NULL"
		}
		return ""
	case op == nurture.OpGt:
		// PostgreSQL puts NaN above every number; Go puts it nowhere.
		return "(" + x + " > " + b.float(o) + " AND " + x + " <> 'NaN'::float8)"
	case op == nurture.OpLte:
		return "(" + x + " <= " + b.float(o) + " OR " + x + " = 'NaN'::float8)"
	}
	return x + " " + orderSQL[op] + " " + b.float(o)
}

// orderTrait compares a trait's value with the number o (neither NaN nor
// infinite): a number, or text that spells one, as Go reads each (a
// float64) compared with o. The value's kind is asked once; a number is
// compared as the decimal it is with the bounds of the decimals that read
// as a float64 on the side of o asked for (roundsUpFrom), so that it is
// read once and never converted (issue 14: on a million contacts the
// conversion, with its tests of range, cost more than the rest of the
// test); numeric text is read as before.
func (b *segmentCompiler) orderTrait(op nurture.Op, v segmentValue, o float64) string {
	if o == 0 {
		o = 0 // -0 is 0
	}
	at := o // Gte and Lt: the numbers that read as o or above, or not
	if op == nurture.OpGt || op == nurture.OpLte {
		at = math.Nextafter(o, math.Inf(1))
	}
	over := b.param(float8Overflow) + "::numeric"
	var lo, hi, bounds string
	if math.IsInf(at, 1) {
		// Nothing reads above the largest float64.
		lo, hi, bounds = over, over, "[)"
		if op == nurture.OpLte {
			lo, bounds = "-"+over, "()"
		}
	} else {
		bound, inclusive := roundsUpFrom(at)
		x := b.param(bound) + "::numeric"
		switch op {
		case nurture.OpGte, nurture.OpGt:
			lo, hi, bounds = x, over, map[bool]string{true: "[)", false: "()"}[inclusive]
		default:
			lo, hi, bounds = "-"+over, x, map[bool]string{true: "()", false: "(]"}[inclusive]
		}
	}
	number := fmt.Sprintf("numrange(%s, %s, '%s') @> (%s)::numeric", lo, hi, bounds, v.json)
	text := b.floatOrder(op, segmentNumber("btrim("+v.jsonText()+", "+v.space+")"), o)
	if text == "" {
		text = "NULL"
	}
	return fmt.Sprintf("coalesce(CASE jsonb_typeof(%s) WHEN 'number' THEN %s WHEN 'string' THEN %s END, false)", v.json, number, text)
}

// roundsUpFrom is the least decimal that strconv.ParseFloat reads as x or
// above (x finite, above the lowest float64), exactly: halfway between x
// and the float64 below it, which itself reads as x when x's last bit is
// even (ties go to even), and as the one below otherwise.
func roundsUpFrom(x float64) (bound string, inclusive bool) {
	below := math.Nextafter(x, math.Inf(-1))
	if math.IsInf(below, -1) {
		// x is the lowest float64: every number that reads as one does.
		return "-" + float8Overflow, false
	}
	mid := new(big.Rat).Add(new(big.Rat).SetFloat64(x), new(big.Rat).SetFloat64(below))
	mid.Quo(mid, big.NewRat(2, 1))
	digits := strings.TrimRight(mid.FloatString(1100), "0")
	return strings.TrimSuffix(digits, "."), math.Float64bits(x)&1 == 0
}

// foldSQL is the text that strings.EqualFold compares alike.
func foldSQL(s string) string {
	return "lower(upper(translate(" + s + ", 'İı', E'\\uFDD0\\uFDD1')))"
}

// spaceChars are the characters strings.TrimSpace removes.
var spaceChars = func() string {
	var b strings.Builder
	for r := rune(0); r <= 0x3000; r++ {
		if unicode.IsSpace(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}()

// float8Limits are the bounds of numbers strconv.ParseFloat reads: at or
// above overflow it fails (out of range), at or below underflow it gives
// zero; PostgreSQL refuses both, so they are tested first, exactly.
var float8Overflow, float8Underflow = func() (string, string) {
	over := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1024), new(big.Int).Lsh(big.NewInt(1), 970))
	under := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), 1075))
	return over.String(), under.FloatString(1075)
}()

// numericToFloat converts a numeric expression to float8 as
// strconv.ParseFloat would read its digits: NULL past the largest float8,
// zero below the smallest.
func numericToFloat(n string) string {
	return fmt.Sprintf("(CASE WHEN abs(%[1]s) >= %[2]s THEN NULL WHEN abs(%[1]s) <= %[3]s THEN 0::float8 ELSE %[1]s::float8 END)",
		n, float8Overflow, float8Underflow)
}

// segmentNumber is the number text spells, as strconv.ParseFloat reads
// it, as a float8; NULL when it spells none. The text is already trimmed.
//
// Decimal syntax, underscores between digits included, is cast through
// numeric (which reads exponents of up to four digits here; longer ones
// give zero or no number, as they do in Go for text of up to 6,000
// characters); inf, infinity and nan (any case) are what float8 reads.
func segmentNumber(s string) string {
	if s == "" {
		return "NULL::float8"
	}
	const digits = `[0-9]+(_[0-9]+)*`
	syntax := `^[+-]?(` + digits + `(\.(` + digits + `)?)?|\.` + digits + `)([eE][+-]?` + digits + `)?$`
	plain := "replace(" + s + ", '_', '')"
	return fmt.Sprintf(`(CASE WHEN %[1]s !~ '%[2]s' THEN CASE WHEN %[1]s ~* '^([+-]?inf(inity)?|nan)$' THEN %[1]s::float8 END
		WHEN length(%[1]s) > 6000 THEN NULL
		WHEN length(substring(%[3]s from '[eE][+-]?0*([0-9]*)$')) > 4 THEN
			CASE WHEN %[3]s ~ '^[+-]?[0.]*([eE].*)?$' OR %[3]s ~ '[eE]-' THEN 0::float8 END
		ELSE %[4]s END)`, s, syntax, plain, numericToFloat(plain+"::numeric"))
}

// timePattern matches the layouts of nurture's parseTimeValue, as Go's
// time.Parse reads them: a date; a date and a time after 'T' or ' ' (a
// one-digit hour too, a fraction after '.' or ','); RFC 3339, the same
// after 'T' with a zone.
const timePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{1,2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)?|T[0-9]{1,2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$`

// segmentTime compares the instant the text s spells with the instant
// (secs, nanos): NULL when s spells none. Go's rules are kept: days that
// exist in their month (year 0 included), hours to 23, minutes and
// seconds to 59, zone offsets to 24:60, fractions cut to nanoseconds. The
// text, once it matches timePattern, is cut at fixed places (the hour is
// what comes before the first ':' of the time) and the instant computed
// from its fields (days from the civil date), not by PostgreSQL's date
// parser, which refuses year 0 and takes a 60th second.
func segmentTime(s, sym, secs, nanos string) string {
	f := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	num := func(from, n int) string { return f("substr(%s, %d, %d)::int8", s, from, n) }
	y, mo, d := num(1, 4), num(6, 2), num(9, 2)
	timed := f("length(%s) > 10", s)
	rest := f("substr(%s, 12)", s) // the time: H:MM:SS[.fff][zone]
	sec := f("split_part(%s, ':', 3)", rest)
	orZero := func(x string) string { return f("CASE WHEN %s THEN %s ELSE 0 END", timed, x) }
	h := orZero(f("split_part(%s, ':', 1)::int8", rest))
	mi := orZero(f("substr(split_part(%s, ':', 2), 1, 2)::int8", rest))
	ss := orZero(f("substr(%s, 1, 2)::int8", sec))
	frac := f("CASE WHEN %[1]s AND substr(%[2]s, 3, 1) IN ('.', ',') THEN split_part(translate(substr(%[2]s, 4), 'Z+-', '|||'), '|', 1) ELSE '' END", timed, sec)
	ns := f("rpad(left(%s, 9), 9, '0')::int8", frac)
	zone := f("right(%s, 6)", s)
	zoned := f("(%s AND left(%s, 1) IN ('+', '-'))", timed, zone)
	oh := f("CASE WHEN %s THEN substr(%s, 2, 2)::int8 ELSE 0 END", zoned, zone)
	om := f("CASE WHEN %s THEN substr(%s, 5, 2)::int8 ELSE 0 END", zoned, zone)
	sign := f("CASE WHEN left(%s, 1) = '-' THEN -1 ELSE 1 END", zone)
	// Days from the civil date (Howard Hinnant's days_from_civil).
	yy := f("(%s - CASE WHEN %s <= 2 THEN 1 ELSE 0 END)", y, mo)
	era := f("(CASE WHEN %[1]s >= 0 THEN %[1]s ELSE %[1]s - 399 END / 400)", yy)
	yoe := f("(%s - %s * 400)", yy, era)
	days := f("(%[1]s * 146097 + %[2]s * 365 + %[2]s / 4 - %[2]s / 100 + (153 * ((%[3]s + 9) %% 12) + 2) / 5 + %[4]s - 1 - 719468)", era, yoe, mo, d)
	dim := f("CASE WHEN %[2]s IN (4, 6, 9, 11) THEN 30 WHEN %[2]s = 2 THEN CASE WHEN %[1]s %% 4 = 0 AND (%[1]s %% 100 <> 0 OR %[1]s %% 400 = 0) THEN 29 ELSE 28 END ELSE 31 END", y, mo)
	valid := f("%[1]s BETWEEN 1 AND 12 AND %[2]s BETWEEN 1 AND %[3]s AND %[4]s <= 23 AND %[5]s <= 59 AND %[6]s <= 59 AND %[7]s <= 24 AND %[8]s <= 60",
		mo, d, dim, h, mi, ss, oh, om)
	instant := f("(%s * 86400 + %s * 3600 + %s * 60 + %s - %s * (%s * 3600 + %s * 60), %s)", days, h, mi, ss, sign, oh, om, ns)
	return f("(CASE WHEN %s ~ '%s' THEN CASE WHEN %s THEN %s %s (%s, %s) END END)", s, timePattern, valid, instant, sym, secs, nanos)
}

// goNumber is nurture's number for text: strconv.ParseFloat of the trimmed
// text.
func goNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

// goTime is nurture's parseTimeValue: the layouts a date or time operand
// may have.
func goTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

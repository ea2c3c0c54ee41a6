package postgres

import (
	"fmt"
	"strings"

	"github.com/nurture-email/nurture"
)

// companyCompare compares company.NAME as Facts.Eval does: the value of
// the record of the contact's company (nurture.CompanyRecordFacts: its
// typed fields, then its traits, then what research found) when it has
// one, else, for name, industry, size and size_range, the contact's
// profile's (nurture.CompanyFacts).
//
// Contacts share companies, so the record's side is asked of each
// company once, not of each contact: two uncorrelated subqueries, which
// PostgreSQL hashes (the companies whose record has the field, and those
// whose value passes the test), probed with the contact's company_id.
func (b *segmentCompiler) companyCompare(c nurture.Compare) string {
	path := c.Field.Path
	k := path[0]
	profile := b.compare(c.Op, segmentValue{}, c.Value) // what a missing value gives
	if len(path) == 1 {
		switch k {
		case "name", "industry", "size_range":
			col := map[string]string{"name": "c.company", "industry": "c.industry", "size_range": "c.team_size"}[k]
			profile = b.compare(c.Op, segmentValue{text: col}, c.Value)
		case "size":
			profile = b.compare(c.Op, segmentValue{json: "to_jsonb(" + teamSizeSQL("c.team_size", b.spaceArg()) + ")"}, c.Value)
		}
	}
	if !storable(k) {
		return profile // no record has a field of this name
	}
	co := b.alias("co")
	rec := b.companyRecord(co, k, path[1:])
	companies := func(test string) string {
		return fmt.Sprintf("coalesce(c.company_id IN (SELECT %[1]s.id FROM companies %[1]s WHERE (%[2]s) IS NOT NULL%[3]s), false)", co, rec, test)
	}
	holds := b.compare(c.Op, segmentValue{json: "(" + rec + ")"}, c.Value)
	return fmt.Sprintf("(CASE WHEN %s THEN %s ELSE %s END)", companies(""), companies(" AND "+holds), profile)
}

// companyTypedColumns are the typed text fields of a company record, by
// the name company.NAME reads them under.
var companyTypedColumns = map[string]string{"name": "name", "domain": "domain", "industry": "industry", "country": "country", "size_range": "team_size"}

// companyRecord is the value of company.K.REST in the record co as jsonb,
// NULL when it has none: what nurture.CompanyRecordFacts gives K, followed
// into rest. A typed field that is not blank comes first (size is the
// team size's lower bound), then a trait that is neither null nor blank,
// then research (co.enriched, a list of {field, value} in the order
// found): the first value of a field, every value of a list field (saas,
// same_as), and for size and size_range the first finding of a size
// (whose size_range it also gives) unless a size_range came before it.
func (b *segmentCompiler) companyRecord(co, k string, rest []string) string {
	space := b.spaceArg()
	var typedSet, typedVal string
	if col, ok := companyTypedColumns[k]; ok {
		x := fmt.Sprintf("btrim(coalesce(%s.%s, ''), %s)", co, col, space)
		typedSet, typedVal = x+" <> ''", "to_jsonb("+x+")"
	} else if k == "size" {
		n := teamSizeSQL(co+".team_size", space)
		typedSet, typedVal = n+" IS NOT NULL", "to_jsonb("+n+")"
	}
	trait := func(name string) segmentValue {
		return segmentValue{json: "(" + co + ".traits -> " + b.text(name) + ")", space: space}
	}
	var out strings.Builder
	out.WriteString("CASE")
	if len(rest) > 0 {
		// Typed and researched values are text: only a trait has fields.
		if typedSet != "" {
			out.WriteString(" WHEN " + typedSet + " THEN NULL")
		}
		fmt.Fprintf(&out, " WHEN %s THEN %s END", trait(k).present(), b.jsonPath(co+".traits -> "+b.text(k), rest).json)
		return out.String()
	}
	if typedSet != "" {
		fmt.Fprintf(&out, " WHEN %s THEN %s", typedSet, typedVal)
	}
	fmt.Fprintf(&out, " WHEN %s THEN %s", trait(k).present(), trait(k).json)
	// Findings, in the order found, that are not blank: the alias of the
	// finding and the FROM clause, cond written with @ for the finding.
	findings := func(cond string) (string, string) {
		e := b.alias("e")
		return e, fmt.Sprintf("FROM jsonb_array_elements(CASE WHEN jsonb_typeof(%[1]s.enriched) = 'array' THEN %[1]s.enriched ELSE '[]' END) WITH ORDINALITY %[2]s(x, i) WHERE btrim(%[2]s.x ->> 'value', %[3]s) <> '' AND (%[4]s)",
			co, e, space, strings.ReplaceAll(cond, "@", e))
	}
	value := func(e string) string { return "to_jsonb(btrim(" + e + ".x ->> 'value', " + space + "))" }
	first := func(cond string) string {
		e, from := findings(cond)
		return fmt.Sprintf("(SELECT %s %s ORDER BY %s.i LIMIT 1)", value(e), from, e)
	}
	switch k {
	case "saas", "same_as":
		e, from := findings("@.x ->> 'field' = " + b.text(k))
		fmt.Fprintf(&out, " ELSE (SELECT jsonb_agg(%s ORDER BY %s.i) %s)", value(e), e, from)
	case "size":
		rangeTaken := fmt.Sprintf("(btrim(%s.team_size, %s) <> '' OR %s)", co, space, trait("size_range").present())
		e, from := findings("@.x ->> 'field' IN ('size', 'size_range')")
		fmt.Fprintf(&out, " WHEN NOT %s THEN (SELECT CASE WHEN %[2]s.x ->> 'field' = 'size' THEN to_jsonb(%[3]s) END %[4]s ORDER BY %[2]s.i LIMIT 1)",
			rangeTaken, e, teamSizeSQL(e+".x ->> 'value'", space), from)
	case "size_range":
		fmt.Fprintf(&out, " ELSE %s", first(fmt.Sprintf("@.x ->> 'field' = 'size_range' OR (@.x ->> 'field' = 'size' AND NOT %s)", trait("size").present())))
	default:
		fmt.Fprintf(&out, " ELSE %s", first("@.x ->> 'field' = "+b.text(k)))
	}
	out.WriteString(" END")
	return out.String()
}

// teamSizeSQL is the lower bound of a team size as CompanyFacts reads it
// (a float8), NULL when it has none: the trimmed text without one
// trailing '+', up to its first '-', trimmed, as strconv.Atoi reads it.
func teamSizeSQL(col, space string) string {
	t := fmt.Sprintf("btrim(%s, %s)", col, space)
	lo := fmt.Sprintf(`btrim(split_part(CASE WHEN right(%[1]s, 1) = '+' THEN left(%[1]s, -1) ELSE %[1]s END, '-', 1), %[2]s)`, t, space)
	return fmt.Sprintf(`CASE WHEN %[1]s ~ '^\+?[0-9]+$' AND (length(%[1]s) < 19 OR %[1]s::numeric <= 9223372036854775807) THEN %[1]s::numeric::float8 END`, lo)
}

package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// Segments ask a condition (nurture.Condition) of every contact at once.
// The condition compiles to one boolean SQL expression over the contact
// row c, with the same answers as nurture.Facts.Eval gives for each contact
// (with facts that hold every event and email: future-dated rows have not
// happened yet). Every value of the condition is a parameter: field names,
// event names, topics and templates too (a custom trait is read as
// c.attributes -> $3 -> $4); the only identifiers in the SQL are the
// store's own (the profile columns of nurture.ProfileFields). The moment
// the condition is asked at is $1, to the microsecond (the database's
// precision), and $2 the characters Go's strings.TrimSpace removes (both
// left out when nothing reads them).
//
// The mapping, node by node:
//
//   - All, Any and Not are AND, OR and NOT; an empty All holds, an empty
//     Any does not. Every leaf is true or false, never NULL, so NOT is
//     exact.
//   - Compare reads its field as typed text (profile columns, the email,
//     the full name) or jsonb (custom traits, followed into nested
//     objects with ->, which never indexes into arrays, as Go's lookupPath
//     does not). See segmentValue for what each operator becomes.
//     company.NAME is asked of the company records once (companyCompare)
//     and of the profile where the record is silent.
//   - Did is EXISTS over events (type track, the name compared as
//     nurture.EventKey folds it: lower(translate(name, ' _-.<tab>', ''))),
//     occurred_at <= now, after now - Within when it is set, and each
//     Where comparison on properties; AtLeast above one is EXISTS over the
//     contacts with at least AtLeast such events (grouped). The index
//     events_track_key_idx (migration 00020) holds exactly that name
//     expression and the time: PostgreSQL reads the window's contacts from
//     it and hashes them (a semi-join, an anti-join for not did). Changing
//     the expression here means changing the index.
//   - Engaged is EXISTS over email_events (class human; kind click for
//     clicked) joined to their messages (status queued, sending, deferred
//     or sent, as the Go facts load them), at <= now and after now -
//     Within, filtered by the message's topic or template, or by the
//     sequence and step of its reason (message_reasons); any email is not
//     filtered. A step without its sequence names the step of the
//     sequence asking; a segment has no sequence asking, so it matches
//     what Go matches with no sequence: a message whose reason names no
//     sequence and that step (none, in practice).
//   - Subscribed is: an address, not suppressed (by its hash,
//     nurture.EmailHash, computed in SQL), and, unless the topic is
//     transactional, no opt-out of the topic made by now.

// segmentAudience is who a segment may count: contacts that can be mailed,
// that is not erased and with an address. Suppression, opt-outs and the
// other checks of sending apply when the message is sent, as for every
// message; a condition can ask for them with subscribed.
const segmentAudience = "c.erased_at IS NULL AND c.email IS NOT NULL AND c.email <> ''"

// SegmentCount returns how many contacts of the audience (not erased, with
// an address) cond holds for at now.
func (db *DB) SegmentCount(ctx context.Context, cond nurture.Condition, now time.Time) (int64, error) {
	q, err := compileSegment(cond, now)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.segmentRead(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM contacts c WHERE "+segmentAudience+" AND "+q.where, q.args...).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("segment count: %w", err)
	}
	return n, nil
}

// SegmentSample returns up to limit contacts of the audience that cond
// holds for at now, the most recently created first.
func (db *DB) SegmentSample(ctx context.Context, cond nurture.Condition, now time.Time, limit int) ([]*nurture.Contact, error) {
	q, err := compileSegment(cond, now)
	if err != nil {
		return nil, err
	}
	sql := fmt.Sprintf("%s c WHERE %s AND %s ORDER BY c.id DESC LIMIT %s", contactSelect, segmentAudience, q.where, q.param(max(limit, 0)))
	var out []*nurture.Contact
	err = db.segmentRead(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, q.args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*nurture.Contact, error) { return scanContact(row) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("segment sample: %w", err)
	}
	return out, nil
}

// SegmentPage returns the ids of up to limit contacts of the audience that
// cond holds for at now, in ascending order of id, after afterID: the next
// page of a keyset pagination (0 starts it). With lanes above one, only
// the contacts of lane lane: those whose id is lane modulo lanes.
func (db *DB) SegmentPage(ctx context.Context, cond nurture.Condition, now time.Time, afterID int64, limit, lane, lanes int) ([]int64, error) {
	q, err := compileSegment(cond, now)
	if err != nil {
		return nil, err
	}
	where := q.where
	if lanes > 1 {
		where = fmt.Sprintf("c.id %% %s = %s AND %s", q.param(int64(lanes)), q.param(int64(lane)), where)
	}
	sql := fmt.Sprintf("SELECT c.id FROM contacts c WHERE c.id > %s AND %s AND %s ORDER BY c.id LIMIT %s",
		q.param(afterID), segmentAudience, where, q.param(max(limit, 0)))
	var ids []int64
	err = db.segmentRead(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, q.args...)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("segment page: %w", err)
	}
	return ids, nil
}

// segmentRead runs the queries of a segment in a read-only transaction
// without JIT compilation: a segment's expression is long (every value
// test spelled out), and on a million contacts PostgreSQL's cost estimate
// passes jit_above_cost, so it spent more time compiling the expression
// (0.5 s measured) than the scan took; run once, it never pays back.
func (db *DB) segmentRead(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		return f(tx)
	})
}

// maxSegmentNesting bounds how deeply All, Any and Not may nest in a
// segment: far more than the parsers let through (nurture.MaxConditionDepth
// levels of text or maps), far less than PostgreSQL's stack allows.
const maxSegmentNesting = 4 * nurture.MaxConditionDepth

// segmentQuery is a compiled condition: a boolean expression over the
// contact row c and the values of its parameters.
type segmentQuery struct {
	where string
	args  []any
}

// param adds a parameter and returns its placeholder.
func (q *segmentQuery) param(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// segmentCompiler builds one segmentQuery.
type segmentCompiler struct {
	segmentQuery
	now     time.Time
	aliases int
}

// The moment the condition is asked at, and the characters
// strings.TrimSpace removes, are the first two parameters.
func (b *segmentCompiler) nowArg() string   { return "$1::timestamptz" }
func (b *segmentCompiler) spaceArg() string { return "$2::text" }

// compileSegment compiles cond asked at now. Only a tree nested deeper
// than maxSegmentNesting is refused (invalid); every other tree compiles,
// whatever its values, to what Facts.Eval answers for it.
func compileSegment(cond nurture.Condition, now time.Time) (*segmentQuery, error) {
	b := &segmentCompiler{now: now.Truncate(time.Microsecond)}
	b.param(b.now)
	b.param(spaceChars)
	where, err := b.cond(cond, 0)
	if err != nil {
		return nil, err
	}
	b.where, b.args = dropUnusedParams(where, b.args)
	return &b.segmentQuery, nil
}

// placeholderRE finds the placeholders in the SQL of a segment: the only
// '$' followed by a digit there (its regular expressions end in '$' and a
// quote or parenthesis).
var placeholderRE = regexp.MustCompile(`\$[0-9]+`)

// dropUnusedParams numbers again the parameters that sql uses, leaving out
// the others (a value of a test that compiled to FALSE, now or the space
// characters when nothing reads them): PostgreSQL refuses a parameter it
// cannot give a type.
func dropUnusedParams(sql string, args []any) (string, []any) {
	used := make([]int, len(args)+1) // new number by old, 0: unused
	for _, p := range placeholderRE.FindAllString(sql, -1) {
		n, _ := strconv.Atoi(p[1:])
		used[n] = -1
	}
	var kept []any
	for i := 1; i <= len(args); i++ {
		if used[i] != 0 {
			kept = append(kept, args[i-1])
			used[i] = len(kept)
		}
	}
	if len(kept) == len(args) {
		return sql, args
	}
	return placeholderRE.ReplaceAllStringFunc(sql, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(used[n])
	}), kept
}

// alias returns a fresh table alias for a subquery.
func (b *segmentCompiler) alias(prefix string) string {
	b.aliases++
	return prefix + strconv.Itoa(b.aliases)
}

// text, float, boolean and timestamp parameters, typed in the SQL.
func (b *segmentCompiler) text(s string) string         { return b.param(s) + "::text" }
func (b *segmentCompiler) float(f float64) string       { return b.param(f) + "::float8" }
func (b *segmentCompiler) boolean(v bool) string        { return b.param(v) + "::boolean" }
func (b *segmentCompiler) timestamp(t time.Time) string { return b.param(t) + "::timestamptz" }

func (b *segmentCompiler) cond(c nurture.Condition, depth int) (string, error) {
	if depth > maxSegmentNesting {
		return "", nurture.Errorf(nurture.CodeInvalid, "the condition nests deeper than %d levels", maxSegmentNesting)
	}
	switch c := c.(type) {
	case nil:
		return "TRUE", nil
	case nurture.All:
		return b.join(c, " AND ", "TRUE", depth)
	case nurture.Any:
		return b.join(c, " OR ", "FALSE", depth)
	case nurture.Not:
		s, err := b.cond(c.C, depth+1)
		if err != nil {
			return "", err
		}
		return "NOT " + s, nil
	case nurture.Compare:
		if c.Field.Scope == nurture.ScopeCompany && len(c.Field.Path) > 0 {
			return b.companyCompare(c), nil
		}
		return b.compare(c.Op, b.field(c.Field), c.Value), nil
	case nurture.Did:
		return b.did(c), nil
	case nurture.Engaged:
		return b.engaged(c), nil
	case nurture.Subscribed:
		return b.subscribed(c), nil
	}
	// Facts.Eval holds for no other kind of node (pointers to the node
	// types, say).
	return "FALSE", nil
}

func (b *segmentCompiler) join(cs []nurture.Condition, sep, empty string, depth int) (string, error) {
	if len(cs) == 0 {
		return empty, nil
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		s, err := b.cond(c, depth+1)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return "(" + strings.Join(parts, sep) + ")", nil
}

// field returns the value a Compare outside a Did reads, as Facts does:
// traits.PATH (traitValue); company.NAME is companyCompare's.
func (b *segmentCompiler) field(f nurture.Field) segmentValue {
	switch f.Scope {
	case nurture.ScopeTraits:
		return b.trait(f.Path)
	case nurture.ScopeCompany:
		// The map of the company's fields itself: a value, never equal to
		// anything.
		return segmentValue{json: "'{}'::jsonb"}
	}
	return segmentValue{}
}

// trait reads traits.PATH: a typed profile field, the email or the full
// name by its name (case and underscores ignored), else a custom trait.
func (b *segmentCompiler) trait(path []string) segmentValue {
	if len(path) == 0 {
		return segmentValue{}
	}
	if len(path) == 1 {
		switch {
		case nurture.SameFieldName(path[0], "name"):
			return segmentValue{text: "(c.first_name || ' ' || c.last_name)"}
		case nurture.SameFieldName(path[0], "email"):
			return segmentValue{text: "coalesce(c.email, '')"}
		}
		for _, pf := range nurture.ProfileFields {
			if nurture.SameFieldName(path[0], pf.Name) {
				// A column of the store's own, named by nurture.ProfileFields.
				return segmentValue{text: "c." + pf.Name}
			}
		}
	}
	return b.jsonPath("c.attributes", path)
}

// jsonPath follows path into nested objects from base, each key a
// parameter; NULL when a step is missing or not an object. A key that no
// stored key can be (not UTF-8, or with a NUL) is never found.
func (b *segmentCompiler) jsonPath(base string, path []string) segmentValue {
	var s, text strings.Builder
	s.WriteString("(" + base)
	text.WriteString("(" + base)
	for i, p := range path {
		if !storable(p) {
			return segmentValue{}
		}
		key := b.text(p)
		s.WriteString(" -> " + key)
		if i == len(path)-1 {
			text.WriteString(" ->> " + key)
		} else {
			text.WriteString(" -> " + key)
		}
	}
	s.WriteString(")")
	text.WriteString(")")
	if len(path) == 0 {
		return segmentValue{json: s.String()}
	}
	return segmentValue{json: s.String(), jsonTextPath: text.String()}
}

// storable reports whether s may be text PostgreSQL stores: UTF-8 without
// NUL. Other text equals nothing stored, byte for byte.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// asGoFolds is s as Go's case-insensitive comparisons (strings.EqualFold,
// strings.ToLower) read it: each byte that is not UTF-8 as U+FFFD. It is
// false when s holds a NUL, which no stored text does.
func asGoFolds(s string) (string, bool) {
	if strings.ContainsRune(s, 0) {
		return "", false
	}
	if utf8.ValidString(s) {
		return s, true
	}
	var out strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		out.WriteRune(r) // utf8.RuneError for a byte that is not UTF-8
		s = s[n:]
	}
	return out.String(), true
}

// did counts the contact's occurrences of the event up to now that match.
func (b *segmentCompiler) did(d nurture.Did) string {
	key := nurture.EventKey(d.Event) // UTF-8, as strings.Map writes it
	if strings.ContainsRune(key, 0) {
		return "FALSE"
	}
	e := b.alias("e")
	conds := []string{
		e + ".contact_id = c.id",
		e + ".type = 'track'",
		eventKeySQL(e+".name") + " = " + b.text(key),
		e + ".occurred_at <= " + b.nowArg(),
	}
	if d.Within > 0 {
		conds = append(conds, e+".occurred_at > "+b.timestamp(b.now.Add(-d.Within).Truncate(time.Microsecond)))
	}
	for _, w := range d.Where {
		// Facts.Eval reads the properties whatever the field's scope.
		conds = append(conds, b.compare(w.Op, b.jsonPath(e+".properties", w.Field.Path), w.Value))
	}
	if n := max(d.AtLeast, 1); n > 1 {
		// The contacts with n such events, grouped: PostgreSQL may hash
		// them once (a semi-join) or push the contact into the grouping
		// (a probe of one contact's events), where a count per contact
		// left it only the probe.
		g := b.alias("g")
		return fmt.Sprintf("EXISTS (SELECT 1 FROM (SELECT %[1]s.contact_id FROM events %[1]s WHERE %[2]s GROUP BY %[1]s.contact_id HAVING count(*) >= %[3]s) %[4]s WHERE %[4]s.contact_id = c.id)",
			e, strings.Join(conds[1:], " AND "), b.param(int64(n))+"::int8", g)
	}
	return "EXISTS (SELECT 1 FROM events " + e + " WHERE " + strings.Join(conds, " AND ") + ")"
}

// eventKeySQL is nurture.EventKey in SQL.
func eventKeySQL(name string) string {
	return "lower(translate(" + name + ", E' _-.\\t', ''))"
}

// engaged looks for a human open or click of the emails e names.
func (b *segmentCompiler) engaged(e nurture.Engaged) string {
	h, m, r := b.alias("h"), b.alias("m"), b.alias("r")
	from := fmt.Sprintf("email_events %[1]s JOIN messages %[2]s ON %[2]s.id = %[1]s.message_id", h, m)
	conds := []string{
		h + ".contact_id = c.id",
		m + ".contact_id = c.id",
		m + ".status IN ('queued', 'sending', 'deferred', 'sent')",
		h + ".class = 'human'",
		h + ".at <= " + b.nowArg(),
	}
	if e.Kind == nurture.HitClick {
		conds = append(conds, h+".kind = 'click'")
	}
	if e.Within > 0 {
		conds = append(conds, h+".at > "+b.timestamp(b.now.Add(-e.Within).Truncate(time.Microsecond)))
	}
	switch e.Scope {
	case nurture.EngagedStep, nurture.EngagedTopic, nurture.EngagedTemplate:
		if !storable(e.Name) {
			return "FALSE" // no stored name is this one
		}
	}
	switch e.Scope {
	case nurture.EngagedStep:
		// A named sequence's step, in any enrollment; else the step of the
		// sequence asking, and a segment asks as no sequence.
		if !storable(e.Sequence) {
			return "FALSE"
		}
		seq := "''"
		if e.Sequence != "" {
			seq = b.text(e.Sequence)
		}
		from += fmt.Sprintf(" LEFT JOIN message_reasons %[1]s ON %[1]s.message_id = %[2]s.id", r, m)
		conds = append(conds, "coalesce("+r+".sequence_id, '') = "+seq, "coalesce("+r+".step, '') = "+b.text(e.Name))
	case nurture.EngagedTopic:
		conds = append(conds, m+".topic = "+b.text(e.Name))
	case nurture.EngagedTemplate:
		conds = append(conds, m+".template = "+b.text(e.Name))
	}
	return "EXISTS (SELECT 1 FROM " + from + " WHERE " + strings.Join(conds, " AND ") + ")"
}

// subscribed: an address that is not suppressed and, for a topic other
// than transactional, no opt-out of it by now.
func (b *segmentCompiler) subscribed(s nurture.Subscribed) string {
	sup := b.alias("s")
	out := fmt.Sprintf("(c.email IS NOT NULL AND c.email <> '' AND NOT EXISTS (SELECT 1 FROM suppressions %[1]s WHERE %[1]s.email_hash = sha256(convert_to(lower(btrim(c.email, %[2]s)), 'UTF8')))",
		sup, b.spaceArg())
	if s.Topic != nurture.TopicTransactional {
		out += " AND c.held_at IS NULL" // an erased address come back: no opt-in yet
	}
	if s.Topic != nurture.TopicTransactional && storable(string(s.Topic)) {
		o := b.alias("o")
		out += fmt.Sprintf(" AND NOT EXISTS (SELECT 1 FROM topic_optouts %[1]s WHERE %[1]s.contact_id = c.id AND %[1]s.topic = %[2]s AND %[1]s.created_at <= %[3]s)",
			o, b.text(string(s.Topic)), b.nowArg())
	}
	return out + ")"
}

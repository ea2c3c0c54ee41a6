package postgres

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pooler names what stands between the engine and PostgreSQL, since some of
// what a direct connection allows breaks behind a pooler.
type Pooler string

const (
	// NoPooler means the engine connects to PostgreSQL itself, or through a
	// pooler in session mode (which keeps a server connection per client
	// connection).
	NoPooler Pooler = "none"
	// PgBouncer is pgbouncer in transaction pooling mode, which gives a
	// client a server connection for one transaction at a time. Nothing
	// may outlive a transaction on a connection: no named prepared
	// statements (pgx's statement cache), no session settings, no session
	// advisory locks. pgbouncer before 1.21 also refuses startup
	// parameters it does not know, such as plan_cache_mode.
	PgBouncer Pooler = "pgbouncer"
)

// transactionPooled reports whether a server connection may change between
// two transactions of one client connection.
func (p Pooler) transactionPooled() bool { return p == PgBouncer }

// adapt makes cfg fit the pooler: behind pgbouncer, statements are sent
// unnamed (pgx's exec mode: parse, bind and run in one round trip, the
// parameters in text for PostgreSQL to type from the statement) unless the
// URL chose a mode that keeps no statement on the server. Nothing else is
// sent at startup.
func (p Pooler) adapt(cfg *pgxpool.Config) {
	if !p.transactionPooled() {
		return
	}
	switch cfg.ConnConfig.DefaultQueryExecMode {
	case pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe:
		// Both keep state per connection that another server
		// connection does not have: a named statement, or a
		// description of the table a statement read.
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	next := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		registerJSON(conn.TypeMap())
		if next != nil {
			return next(ctx, conn)
		}
		return nil
	}
}

// registerJSON tells pgx how to write the store's JSON values without a
// statement's description to say their type (exec mode sends parameters as
// text for PostgreSQL to type from the statement): attributes, properties
// and traits are maps, written as jsonb, and so are lists of them; any other
// map, struct or list of structs pgx knows no type for is written as its
// JSON text, as pgx's JSON codec writes it when the statement says jsonb.
func registerJSON(m *pgtype.Map) {
	m.RegisterDefaultPgType(map[string]any(nil), "jsonb")
	m.RegisterDefaultPgType([]map[string]any(nil), "_jsonb")
	// First, or pgx's own would take a list of structs for an array.
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapJSON(m)}, m.TryWrapEncodePlanFuncs...)
}

// tryWrapJSON is what pgx does with a value of no type it knows: a map, a
// struct, or a list of maps or structs of no type it knows, is written as
// JSON text. A list of values of a known type (time.Time, a map written as
// jsonb) stays an array.
func tryWrapJSON(m *pgtype.Map) pgtype.TryWrapEncodePlanFunc {
	known := func(t reflect.Type) bool {
		_, ok := m.TypeForValue(reflect.Zero(t).Interface())
		return ok
	}
	return func(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
		if _, ok := value.(driver.Valuer); ok {
			return nil, nil, false
		}
		t := reflect.TypeOf(value)
		if t == nil || known(t) {
			return nil, nil, false
		}
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map, reflect.Struct:
		case reflect.Slice, reflect.Array:
			e := t.Elem()
			if known(e) {
				return nil, nil, false
			}
			if e.Kind() == reflect.Pointer {
				e = e.Elem()
			}
			if e.Kind() != reflect.Map && e.Kind() != reflect.Struct || known(e) {
				return nil, nil, false
			}
		default:
			return nil, nil, false
		}
		return &jsonEncodePlan{}, jsonText{}, true
	}
}

// jsonEncodePlan writes a value as the JSON text of jsonText.
type jsonEncodePlan struct{ next pgtype.EncodePlan }

func (p *jsonEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *jsonEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(jsonText{v: value}, buf)
}

// jsonText is a value pgx writes as its JSON text.
type jsonText struct{ v any }

func (j jsonText) TextValue() (pgtype.Text, error) {
	b, err := json.Marshal(j.v)
	if err != nil {
		return pgtype.Text{}, err
	}
	return pgtype.Text{String: string(b), Valid: true}, nil
}

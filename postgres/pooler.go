package postgres

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pooler names what stands between the engine and PostgreSQL, since some of
// what a direct connection allows breaks behind a pooler.
type Pooler string

const (
	// NoPooler: the engine connects to PostgreSQL itself, or through a
	// pooler in session mode (which keeps a server connection per client
	// connection).
	NoPooler Pooler = "none"
	// PgBouncer: pgbouncer in transaction pooling mode, which gives a
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
// parameters typed from their Go values) unless the URL chose a mode that
// keeps no statement on the server. Nothing else is sent at startup.
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
}

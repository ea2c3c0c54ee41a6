package testkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture/postgres"
)

// Migrating a schema costs the better part of a second, so DB does it only
// when no migrated schema is free. Migrated schemas live on in the test
// database between tests and between runs, in a pool that every test binary
// of `go test ./...` shares:
//
//   - A pool schema is named testkit_<digest of the migrations>_<random>, so
//     a change to any migration leaves the old schemas unused (and dropped
//     once free).
//   - A test holds its schema with a session advisory lock on a connection
//     of its own, released when the test ends or its binary dies; nobody
//     else touches a locked schema.
//   - When a schema has just been migrated, testkit.schemas records what the
//     migrations left: a digest of its catalog, the rows of each table that
//     has some (goose's versions, the installation row with its key) and the
//     state of each sequence. A schema without that record was not finished
//     and is dropped.
//   - Before a test gets a schema, its catalog must still match the digest
//     (else it is dropped: a test changed its shape) and its contents are put
//     back as recorded: tables that gained rows are truncated, seed rows and
//     sequences restored. A last check must then find nothing different.
//
// Each schema keeps the installation key its own migration drew, so two
// schemas in use at once never share one, as two databases would not.

// registrySchema holds the record of each pool schema. It does not match
// the pool's prefix.
const registrySchema = "testkit"

// poolPrefix starts the name of every pool schema, of any migration set.
const poolPrefix = "testkit_"

// lockClass keeps the pool's advisory locks apart from others (the first
// key of the two-key form).
const lockClass = 0x6e75

// snapshot is what the migrations left in a schema.
type snapshot struct {
	Catalog   string     `json:"catalog"`
	Tables    []table    `json:"tables"`
	Sequences []sequence `json:"sequences"`
}

type table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"` // those a row can be given (not generated)
	// Rows are the table's rows in the canonical form of rowsExpr, or nil
	// when the migrations left the table empty.
	Rows json.RawMessage `json:"rows,omitempty"`
}

type sequence struct {
	Name      string `json:"name"`
	LastValue int64  `json:"last_value"`
	IsCalled  bool   `json:"is_called"`
}

var (
	migrationsDigestOnce sync.Once
	migrationsDigest     string
)

// schemaPrefix is the prefix of the pool schemas of this migration set.
func schemaPrefix() string {
	migrationsDigestOnce.Do(func() {
		h := sha256.New()
		err := fs.WalkDir(postgres.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(postgres.Migrations(), path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
			h.Write(b)
			return nil
		})
		if err != nil {
			panic(fmt.Sprintf("testkit: read migrations: %v", err))
		}
		migrationsDigest = hex.EncodeToString(h.Sum(nil))[:12]
	})
	return poolPrefix + migrationsDigest + "_"
}

var (
	registryMu    sync.Mutex
	registryReady bool
)

// ensureRegistry creates the registry once per database; concurrent test
// binaries take turns under a transaction-level advisory lock.
func ensureRegistry(ctx context.Context, conn *pgx.Conn) error {
	registryMu.Lock()
	defer registryMu.Unlock()
	if registryReady {
		return nil
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClass); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+registrySchema+`;
			CREATE TABLE IF NOT EXISTS `+registrySchema+`.schemas (
				name     text PRIMARY KEY,
				snapshot jsonb NOT NULL
			);
			DELETE FROM `+registrySchema+`.schemas WHERE name NOT IN (SELECT nspname FROM pg_namespace)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create the registry of pool schemas: %w", err)
	}
	registryReady = true
	return nil
}

// lockSchema tries to take the schema for this session.
func lockSchema(ctx context.Context, conn *pgx.Conn, schema string) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, schema).Scan(&ok)
	return ok, err
}

func unlockSchema(ctx context.Context, conn *pgx.Conn, schema string) {
	_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, schema)
}

// dropSchema drops a pool schema this session holds, its record and its
// role (made behind pgbouncer, see Pooler).
func dropSchema(ctx context.Context, conn *pgx.Conn, schema string) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM `+registrySchema+`.schemas WHERE name = $1`, schema)
		return err
	})
	if err == nil {
		dropRole(ctx, conn, schema)
	}
	return err
}

// holder is a connection that holds a pool schema's lock.
type holder struct {
	conn   *pgx.Conn
	schema string
}

// Holders of the schemas this test binary used and gave back: the schema
// stays locked, and the connection's catalog caches warm, for the next test.
var (
	idleMu sync.Mutex
	idle   []*holder
)

// release gives the schema back to this binary's idle holders.
func (h *holder) release() {
	if h.conn.IsClosed() {
		return
	}
	idleMu.Lock()
	defer idleMu.Unlock()
	idle = append(idle, h)
}

// holdSchema returns a holder of a pool schema reset to what its
// migrations left, or of a new empty schema to migrate (fresh).
func holdSchema(ctx context.Context, t testing.TB, url string) (h *holder, fresh bool) {
	t.Helper()
	for {
		idleMu.Lock()
		if len(idle) == 0 {
			idleMu.Unlock()
			break
		}
		h = idle[len(idle)-1]
		idle = idle[:len(idle)-1]
		idleMu.Unlock()
		err := resetSchema(ctx, h.conn, h.schema)
		if err == nil {
			return h, false
		}
		t.Logf("testkit: %v; making another", err)
		if !errors.Is(err, errBusy) {
			_ = dropSchema(ctx, h.conn, h.schema)
		}
		_ = h.conn.Close(ctx)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("testkit: PostgreSQL at %s does not answer (run `make test`, which starts it): %v", url, err)
	}
	h = &holder{conn: conn}
	if err := ensureRegistry(ctx, conn); err != nil {
		_ = conn.Close(ctx)
		t.Fatalf("testkit: %v", err)
	}
	if h.schema, err = acquireSchema(ctx, conn); err != nil {
		_ = conn.Close(ctx)
		t.Fatalf("testkit: %v", err)
	}
	if h.schema != "" {
		return h, false
	}
	h.schema = schemaPrefix() + randomHex(4)
	if ok, err := lockSchema(ctx, conn, h.schema); err != nil || !ok {
		_ = conn.Close(ctx)
		t.Fatalf("testkit: lock new schema %s: %v", h.schema, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{h.schema}.Sanitize()); err != nil {
		_ = conn.Close(ctx)
		t.Fatalf("testkit: create schema: %v", err)
	}
	return h, true
}

var dropStaleOnce sync.Once

// acquireSchema returns a free pool schema of this migration set, reset to
// what its migrations left, locked by conn; or "" when none is free.
func acquireSchema(ctx context.Context, conn *pgx.Conn) (string, error) {
	prefix := schemaPrefix()
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY nspname`, poolPrefix)
	if err != nil {
		return "", fmt.Errorf("list pool schemas: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("list pool schemas: %w", err)
	}
	dropStale := false
	dropStaleOnce.Do(func() { dropStale = true })
	for _, name := range names {
		current := strings.HasPrefix(name, prefix)
		if !current && !dropStale {
			continue
		}
		ok, err := lockSchema(ctx, conn, name)
		if err != nil {
			return "", fmt.Errorf("lock schema %s: %w", name, err)
		}
		if !ok {
			continue // another test's
		}
		if !current {
			// Migrated by another set of migrations (an older checkout).
			if err := dropSchema(ctx, conn, name); err != nil {
				return "", err
			}
			unlockSchema(ctx, conn, name)
			continue
		}
		if err := resetSchema(ctx, conn, name); err != nil {
			// Unfinished, reshaped by a test, or still locked by a
			// leaked connection: make another rather than wait.
			if !errors.Is(err, errBusy) {
				if err := dropSchema(ctx, conn, name); err != nil {
					return "", err
				}
			}
			unlockSchema(ctx, conn, name)
			continue
		}
		return name, nil
	}
	return "", nil
}

// errBusy says a schema's tables could not be locked in time.
var errBusy = errors.New("schema busy")

// truncateAbove is the size in bytes of a table's heap past which a reset
// truncates it rather than deleting its rows.
const truncateAbove = 8 * 8192

func isLockTimeout(err error) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr) && pgErr.SQLState() == "55P03" // lock_not_available
}

// resetSchema puts a pool schema back as its migrations left it, or says
// why it cannot.
func resetSchema(ctx context.Context, conn *pgx.Conn, schema string) error {
	var snap snapshot
	err := conn.QueryRow(ctx, `SELECT snapshot FROM `+registrySchema+`.schemas WHERE name = $1`, schema).Scan(&snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("schema %s was never finished", schema)
	}
	if err != nil {
		return fmt.Errorf("read the record of %s: %w", schema, err)
	}
	catalog, err := catalogDigest(ctx, conn, schema)
	if err != nil {
		return err
	}
	if catalog != snap.Catalog {
		return fmt.Errorf("schema %s no longer has the shape its migrations gave it", schema)
	}
	dirtyTables, dirtySeqs, err := differences(ctx, conn, schema, &snap)
	if err != nil {
		return err
	}
	if len(dirtyTables) == 0 && len(dirtySeqs) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// The reset need not survive a crash of the server: the next test
		// checks the schema again. Not waiting for the disk saves most of
		// its time on a busy machine.
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'; SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		// Small tables are emptied with DELETE: a few milliseconds, where
		// TRUNCATE makes new files for every table and index (a third of a
		// second here). But DELETE leaves dead rows that nothing vacuums in
		// time, and a table that keeps them grows slower test after test:
		// a table past truncateAbove is truncated instead, so a reused
		// schema stays within a few pages of a fresh one. CASCADE empties
		// the tables that refer to it too (seeded ones are restored below).
		names := make([]string, len(dirtyTables))
		for i, t := range dirtyTables {
			names[i] = pgx.Identifier{schema, t.Name}.Sanitize()
		}
		rows, err := tx.Query(ctx, `SELECT oid::regclass::text FROM pg_class
			WHERE oid = ANY($1::text[]::regclass[]) AND pg_relation_size(oid) > $2`, names, truncateAbove)
		if err != nil {
			return fmt.Errorf("measure tables: %w", err)
		}
		big, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("measure tables: %w", err)
		}
		if len(big) > 0 {
			if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(big, ", ")+` CASCADE`); err != nil {
				if isLockTimeout(err) {
					return errBusy
				}
				return fmt.Errorf("truncate: %w", err)
			}
		}
		// Tables are in an order where those that refer to others come
		// first.
		for _, t := range dirtyTables {
			ident := pgx.Identifier{schema, t.Name}.Sanitize()
			if _, err := tx.Exec(ctx, `DELETE FROM `+ident); err != nil {
				if isLockTimeout(err) {
					return errBusy
				}
				return fmt.Errorf("empty %s: %w", ident, err)
			}
		}
		// Emptying may have emptied seeded tables too (CASCADE).
		dirtyTables, dirtySeqs, err = differences(ctx, tx, schema, &snap)
		if err != nil {
			return err
		}
		for i := len(dirtyTables) - 1; i >= 0; i-- { // referred-to tables first
			t := dirtyTables[i]
			if t.Rows == nil {
				return fmt.Errorf("table %s.%s still has rows after DELETE", schema, t.Name)
			}
			cols := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				cols[i] = pgx.Identifier{c}.Sanitize()
			}
			list := strings.Join(cols, ", ")
			ident := pgx.Identifier{schema, t.Name}.Sanitize()
			if _, err := tx.Exec(ctx, `DELETE FROM `+ident); err != nil {
				return fmt.Errorf("empty %s: %w", ident, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO `+ident+` (`+list+`) OVERRIDING SYSTEM VALUE
				SELECT `+list+` FROM jsonb_populate_recordset(NULL::`+ident+`, $1)`, string(t.Rows))
			if err != nil {
				return fmt.Errorf("restore the rows of %s: %w", ident, err)
			}
		}
		for _, s := range dirtySeqs {
			_, err := tx.Exec(ctx, `SELECT setval($1::regclass, $2, $3)`,
				pgx.Identifier{schema, s.Name}.Sanitize(), s.LastValue, s.IsCalled)
			if err != nil {
				return fmt.Errorf("restore sequence %s: %w", s.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	dirtyTables, dirtySeqs, err = differences(ctx, conn, schema, &snap)
	if err != nil {
		return err
	}
	if len(dirtyTables) > 0 || len(dirtySeqs) > 0 {
		return fmt.Errorf("schema %s differs from its record after the reset (%d tables, %d sequences)",
			schema, len(dirtyTables), len(dirtySeqs))
	}
	return nil
}

// rowsExpr is the canonical form of a table's rows: the same rows give the
// same value whatever their physical order.
func rowsExpr(ident string) string {
	return `(SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY to_jsonb(x)::text), '[]') FROM ` + ident + ` x)`
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// differences returns the tables and sequences of schema that are not as
// the snapshot recorded them, in one query.
func differences(ctx context.Context, q querier, schema string, snap *snapshot) ([]table, []sequence, error) {
	var exprs []string
	var args []any
	for _, t := range snap.Tables {
		ident := pgx.Identifier{schema, t.Name}.Sanitize()
		if t.Rows == nil {
			exprs = append(exprs, `EXISTS (SELECT FROM `+ident+`)`)
			continue
		}
		args = append(args, string(t.Rows))
		exprs = append(exprs, rowsExpr(ident)+fmt.Sprintf(` IS DISTINCT FROM $%d::jsonb`, len(args)))
	}
	for _, s := range snap.Sequences {
		args = append(args, s.LastValue, s.IsCalled)
		exprs = append(exprs, fmt.Sprintf(`(SELECT (last_value, is_called) IS DISTINCT FROM ($%d::bigint, $%d::boolean) FROM %s)`,
			len(args)-1, len(args), pgx.Identifier{schema, s.Name}.Sanitize()))
	}
	if len(exprs) == 0 {
		return nil, nil, nil
	}
	var dirty []bool
	if err := q.QueryRow(ctx, `SELECT ARRAY[`+strings.Join(exprs, ", ")+`]`, args...).Scan(&dirty); err != nil {
		return nil, nil, fmt.Errorf("compare schema %s with its record: %w", schema, err)
	}
	var tables []table
	var seqs []sequence
	for i, d := range dirty {
		switch {
		case !d:
		case i < len(snap.Tables):
			tables = append(tables, snap.Tables[i])
		default:
			seqs = append(seqs, snap.Sequences[i-len(snap.Tables)])
		}
	}
	return tables, seqs, nil
}

// takeSnapshot records what the migrations left in schema.
func takeSnapshot(ctx context.Context, conn *pgx.Conn, schema string) (*snapshot, error) {
	catalog, err := catalogDigest(ctx, conn, schema)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{Catalog: catalog}
	rows, err := conn.Query(ctx, `
		SELECT c.relname,
		       ARRAY(SELECT a.attname::text FROM pg_attribute a
		             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		             ORDER BY a.attnum)
		FROM pg_class c
		WHERE c.relnamespace = $1::text::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		ORDER BY c.oid`, pgx.Identifier{schema}.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", schema, err)
	}
	snap.Tables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.Name, &t.Columns)
	})
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", schema, err)
	}
	if snap.Tables, err = referrersFirst(ctx, conn, schema, snap.Tables); err != nil {
		return nil, err
	}
	for i, t := range snap.Tables {
		var raw string
		if err := conn.QueryRow(ctx, `SELECT `+rowsExpr(pgx.Identifier{schema, t.Name}.Sanitize())+`::text`).Scan(&raw); err != nil {
			return nil, fmt.Errorf("read the rows of %s.%s: %w", schema, t.Name, err)
		}
		if raw != "[]" {
			snap.Tables[i].Rows = json.RawMessage(raw)
		}
	}
	rows, err = conn.Query(ctx, `SELECT relname FROM pg_class WHERE relnamespace = $1::text::regnamespace AND relkind = 'S' ORDER BY oid`,
		pgx.Identifier{schema}.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("list sequences of %s: %w", schema, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list sequences of %s: %w", schema, err)
	}
	for _, n := range names {
		s := sequence{Name: n}
		err := conn.QueryRow(ctx, `SELECT last_value, is_called FROM `+pgx.Identifier{schema, n}.Sanitize()).Scan(&s.LastValue, &s.IsCalled)
		if err != nil {
			return nil, fmt.Errorf("read sequence %s.%s: %w", schema, n, err)
		}
		snap.Sequences = append(snap.Sequences, s)
	}
	return snap, nil
}

// catalogDigest sums up the shape of a schema from the catalog's own rows:
// relations (tables, indexes, sequences, views, composite types), columns,
// defaults, constraints, indexes, triggers, rules, sequences' settings,
// policies and functions, each with its object id. A test that adds, drops,
// alters or recreates any of them changes the digest. (Enums and domains
// are not looked at: finding them would scan pg_type.)
//
// The digest is only ever compared with the same schema's, so object ids
// and stored expression trees are read as they are, which is far cheaper
// than deparsing them. The catalogs of a test database swell with the
// schemas of past tests, so the relations are found with one scan of
// pg_class and everything else through the catalogs' indexes on them.
func catalogDigest(ctx context.Context, conn *pgx.Conn, schema string) (string, error) {
	var digest string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
		WITH ns AS (SELECT $1::text::regnamespace::oid AS oid),
		rels AS MATERIALIZED (SELECT c.* FROM pg_class c, ns WHERE c.relnamespace = ns.oid)
		SELECT coalesce(md5(string_agg(d, E'\n' ORDER BY d)), '') FROM (
			SELECT concat_ws(' ', 'rel', oid, relname, relkind, relnatts, relchecks, relhasrules, relhastriggers,
			                 relrowsecurity, relpersistence, reloptions::text, reltype)
			FROM rels
			UNION ALL
			SELECT concat_ws(' ', 'col', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull,
			                 a.atthasdef, a.attidentity, a.attgenerated, a.attisdropped, a.attcollation)
			FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid WHERE a.attnum > 0
			UNION ALL
			SELECT concat_ws(' ', 'def', ad.adrelid, ad.adnum, md5(ad.adbin::text))
			FROM rels c JOIN pg_attrdef ad ON ad.adrelid = c.oid
			UNION ALL
			SELECT concat_ws(' ', 'con', co.oid, co.conname, co.contype, co.conrelid, co.confrelid, co.conkey::text,
			                 co.confkey::text, co.condeferrable, co.convalidated, co.confupdtype, co.confdeltype,
			                 md5(co.conbin::text))
			FROM rels c JOIN pg_constraint co ON co.conrelid = c.oid
			UNION ALL
			SELECT concat_ws(' ', 'idx', i.indexrelid, i.indrelid, i.indkey::text, i.indclass::text, i.indisunique,
			                 md5(i.indexprs::text), md5(i.indpred::text))
			FROM rels c JOIN pg_index i ON i.indexrelid = c.oid
			UNION ALL
			SELECT concat_ws(' ', 'trg', t.oid, t.tgname, t.tgrelid, t.tgfoid, t.tgtype, t.tgenabled)
			FROM rels c JOIN pg_trigger t ON t.tgrelid = c.oid WHERE NOT t.tgisinternal
			UNION ALL
			SELECT concat_ws(' ', 'rule', r.oid, r.ev_class, r.rulename, md5(r.ev_action::text))
			FROM rels c JOIN pg_rewrite r ON r.ev_class = c.oid
			UNION ALL
			SELECT concat_ws(' ', 'seq', s.seqrelid, s.seqtypid, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcycle)
			FROM rels c JOIN pg_sequence s ON s.seqrelid = c.oid
			UNION ALL
			SELECT concat_ws(' ', 'policy', pol.oid, pol.polname, pol.polrelid, pol.polcmd, md5(pol.polqual::text))
			FROM rels c JOIN pg_policy pol ON pol.polrelid = c.oid
			UNION ALL
			SELECT concat_ws(' ', 'fn', p.oid, p.proname, p.proargtypes::text, md5(p.prosrc))
			FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
		) s(d)`, pgx.Identifier{schema}.Sanitize()).Scan(&digest)
	})
	if err != nil {
		return "", fmt.Errorf("read the catalog of %s: %w", schema, err)
	}
	return digest, nil
}

// recordSchema stores what the migrations left in a schema just migrated,
// which makes it a finished member of the pool.
func recordSchema(ctx context.Context, conn *pgx.Conn, schema string) error {
	snap, err := takeSnapshot(ctx, conn, schema)
	if err != nil {
		return err
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `INSERT INTO `+registrySchema+`.schemas (name, snapshot) VALUES ($1, $2)`, schema, string(b))
	if err != nil {
		return fmt.Errorf("record schema %s: %w", schema, err)
	}
	return nil
}

// referrersFirst orders tables so that a table comes before every table its
// foreign keys refer to: deleting in that order never breaks a reference,
// inserting in the reverse order never lacks one. A partitioned table's
// foreign keys are its partitions' too; only the table's count.
func referrersFirst(ctx context.Context, conn *pgx.Conn, schema string, tables []table) ([]table, error) {
	rows, err := conn.Query(ctx, `
		SELECT DISTINCT c.relname, p.relname
		FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_class p ON p.oid = co.confrelid
		WHERE co.contype = 'f' AND co.connamespace = $1::text::regnamespace AND co.conrelid <> co.confrelid
		  AND NOT c.relispartition AND NOT p.relispartition`,
		pgx.Identifier{schema}.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("read foreign keys of %s: %w", schema, err)
	}
	type edge struct{ from, to string }
	edges, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (edge, error) {
		var e edge
		return e, r.Scan(&e.from, &e.to)
	})
	if err != nil {
		return nil, fmt.Errorf("read foreign keys of %s: %w", schema, err)
	}
	referrers := map[string]int{} // tables not yet placed that refer to each table
	for _, e := range edges {
		referrers[e.to]++
	}
	var ordered []table
	placed := map[string]bool{}
	for len(ordered) < len(tables) {
		progress := false
		for _, t := range tables {
			if placed[t.Name] || referrers[t.Name] > 0 {
				continue
			}
			placed[t.Name], progress = true, true
			ordered = append(ordered, t)
			for _, e := range edges {
				if e.from == t.Name {
					referrers[e.to]--
				}
			}
		}
		if !progress {
			return nil, fmt.Errorf("foreign keys of %s form a cycle", schema)
		}
	}
	return ordered, nil
}

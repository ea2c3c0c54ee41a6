package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Events and hits are partitioned by month (migration 00035): one
// partition per calendar month in UTC, named <table>_pYYYYMM, and a
// DEFAULT partition, <table>_default, for the rows of any month not made
// (a backfill of long ago, a client's clock far ahead), so that an insert
// never fails for want of a partition. The retention job makes the months
// ahead of time (EnsurePartitions) and drops those wholly past the
// retention (DropEventPartitionsBefore, DropHitPartitionsBefore).
//
// Every statement here that changes the partitions runs in a transaction
// of its own, under a transaction-scoped advisory lock per table (no
// session state: it works through pgbouncer in transaction mode) and a
// short lock_timeout: a DDL statement waiting behind a long query would
// make every query of the table wait behind it. A pass that times out
// tries again at the next one; each step is idempotent.

// partitioned is a table partitioned by month on a time column.
type partitioned struct {
	table, column string
	// aggregate keeps, in the same transaction, what must outlive the
	// rows of a partition about to be dropped; %s is the partition.
	aggregate string
	// statistics makes a new partition's expression statistics, which a
	// partition does not take from its parent; the first %s is their
	// name, the second the partition. Empty: none.
	statistics string
}

var (
	// The folded name's statistics tell the planner how common an event
	// is (migration 00037 says why each partition needs its own).
	eventPartitions = partitioned{table: "events", column: "occurred_at",
		statistics: `CREATE STATISTICS IF NOT EXISTS %s ON (lower(translate(name, E' _-.\t', ''))) FROM %s`}
	// A dropped month's hits leave each contact's last open and click by
	// a person in its engagement summary, as DeleteHitsBefore does.
	hitPartitions = partitioned{table: "email_events", column: "at", aggregate: `
		INSERT INTO engagement (contact_id, last_open_at, last_click_at)
		SELECT h.contact_id, max(h.at) FILTER (WHERE h.kind = 'open'), max(h.at) FILTER (WHERE h.kind = 'click')
		FROM %s h
		WHERE h.class = 'human' AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = h.contact_id)
		GROUP BY h.contact_id
		ON CONFLICT (contact_id) DO UPDATE SET
			last_open_at = greatest(engagement.last_open_at, excluded.last_open_at),
			last_click_at = greatest(engagement.last_click_at, excluded.last_click_at)`}
)

// partitionLockKey is the advisory lock of the changes of the partitions
// of table $1, in this schema.
const partitionLockKey = `hashtextextended('nurture-partitions:' || current_schema() || '.' || $1, 0)`

// partitionLockTimeout bounds the wait for a partition change's locks.
const partitionLockTimeout = "2s"

// MonthOf is the first moment of t's month, in UTC: the lower bound of
// the partition that holds t.
func MonthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// PartitionName is the name of table's partition for the month of t.
func PartitionName(table string, t time.Time) string {
	m := MonthOf(t)
	return fmt.Sprintf("%s_p%04d%02d", table, m.Year(), int(m.Month()))
}

// EnsurePartitions makes the monthly partitions of events and hits from
// the month of from through months later, where they are missing, and
// returns the names of those it made. Rows of those months that the
// default partition holds move into them.
func (db *DB) EnsurePartitions(ctx context.Context, from time.Time, months int) ([]string, error) {
	var made []string
	for _, p := range []partitioned{eventPartitions, hitPartitions} {
		for i := 0; i <= months; i++ {
			month := MonthOf(from).AddDate(0, i, 0)
			ok, err := db.makeMonth(ctx, p, month)
			if err != nil {
				return made, err
			}
			if ok {
				made = append(made, PartitionName(p.table, month))
			}
		}
	}
	return made, nil
}

// makeMonth makes p's partition for month unless it exists, and says
// whether it made it. The partition is made detached, given the default
// partition's rows of its month, then attached: attaching takes no lock
// that stops the table's readers and writers (only its default
// partition's, for the moment of the move).
func (db *DB) makeMonth(ctx context.Context, p partitioned, month time.Time) (bool, error) {
	name := PartitionName(p.table, month)
	lo, hi := month, month.AddDate(0, 1, 0)
	bounds := fmt.Sprintf("FROM (%s) TO (%s)", timeLiteral(lo), timeLiteral(hi))
	part, parent := pgx.Identifier{name}.Sanitize(), pgx.Identifier{p.table}.Sanitize()
	def, col := pgx.Identifier{p.table + "_default"}.Sanitize(), pgx.Identifier{p.column}.Sanitize()
	made := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		exists, err := lockPartitions(ctx, tx, p.table, name)
		if err != nil || exists {
			return err
		}
		for _, stmt := range []string{
			`CREATE TABLE ` + part + ` (LIKE ` + parent + ` INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
			// Attaching checks the new table against this instead of
			// reading it.
			`ALTER TABLE ` + part + ` ADD CONSTRAINT ` + pgx.Identifier{name + "_month"}.Sanitize() +
				` CHECK (` + col + ` >= ` + timeLiteral(lo) + ` AND ` + col + ` < ` + timeLiteral(hi) + `)`,
			`LOCK TABLE ` + def + ` IN ACCESS EXCLUSIVE MODE`,
			`WITH moved AS (DELETE FROM ` + def + ` WHERE ` + col + ` >= ` + timeLiteral(lo) + ` AND ` + col + ` < ` + timeLiteral(hi) + ` RETURNING *)
				INSERT INTO ` + part + ` SELECT * FROM moved`,
			`ALTER TABLE ` + parent + ` ATTACH PARTITION ` + part + ` FOR VALUES ` + bounds,
			`ALTER TABLE ` + part + ` DROP CONSTRAINT ` + pgx.Identifier{name + "_month"}.Sanitize(),
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		if p.statistics != "" {
			stmt := fmt.Sprintf(p.statistics, pgx.Identifier{name + "_track_key_stats"}.Sanitize(), part)
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		made = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("make partition %s: %w", name, err)
	}
	return made, nil
}

// lockPartitions takes, for the rest of tx, the lock that orders every
// change of table's partitions across processes, sets the lock timeout,
// and says whether the relation name exists.
func lockPartitions(ctx context.Context, tx pgx.Tx, table, name string) (bool, error) {
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
		return false, err
	}
	var exists bool
	err := tx.QueryRow(ctx, `SELECT to_regclass($2) IS NOT NULL
		FROM (SELECT pg_advisory_xact_lock(`+partitionLockKey+`)) l`,
		table, pgx.Identifier{name}.Sanitize()).Scan(&exists)
	return exists, err
}

// timeLiteral writes t as an SQL timestamptz literal.
func timeLiteral(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05") + "+00'"
}

// DropEventPartitionsBefore drops the monthly partitions of events that
// end at or before before (every row older than it), and returns their
// names. What the events added up to (engagement, engagement_actions)
// stays: it was counted as they arrived.
func (db *DB) DropEventPartitionsBefore(ctx context.Context, before time.Time) ([]string, error) {
	return db.dropBefore(ctx, eventPartitions, before)
}

// DropHitPartitionsBefore drops the monthly partitions of opens and
// clicks that end at or before before, and returns their names. Each
// contact's last open and click by a person among a partition's hits go
// to its engagement summary first, in the same transaction.
func (db *DB) DropHitPartitionsBefore(ctx context.Context, before time.Time) ([]string, error) {
	return db.dropBefore(ctx, hitPartitions, before)
}

func (db *DB) dropBefore(ctx context.Context, p partitioned, before time.Time) ([]string, error) {
	months, err := db.Partitions(ctx, p.table)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, month := range months {
		if month.AddDate(0, 1, 0).After(before) {
			continue
		}
		name := PartitionName(p.table, month)
		ok, err := db.dropMonth(ctx, p, name)
		if err != nil {
			return dropped, fmt.Errorf("drop partition %s: %w", name, err)
		}
		if ok {
			dropped = append(dropped, name)
		}
	}
	return dropped, nil
}

func (db *DB) dropMonth(ctx context.Context, p partitioned, name string) (bool, error) {
	part := pgx.Identifier{name}.Sanitize()
	dropped := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		exists, err := lockPartitions(ctx, tx, p.table, name)
		if err != nil || !exists {
			return err
		}
		if p.aggregate != "" {
			// No row may arrive between the sums and the drop.
			if _, err := tx.Exec(ctx, `LOCK TABLE `+part+` IN SHARE MODE`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(p.aggregate, part)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DROP TABLE `+part); err != nil {
			return err
		}
		dropped = true
		return nil
	})
	return dropped, err
}

var monthSuffix = regexp.MustCompile(`_p(\d{4})(\d{2})$`)

// Partitions returns the months of table's monthly partitions, oldest
// first (the default partition is not one).
func (db *DB) Partitions(ctx context.Context, table string) ([]time.Time, error) {
	rows, err := db.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`, pgx.Identifier{table}.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	var months []time.Time
	for _, n := range names {
		m := monthSuffix.FindStringSubmatch(n)
		if m == nil || n != table+m[0] {
			continue
		}
		year, _ := strconv.Atoi(m[1])
		month, _ := strconv.Atoi(m[2])
		months = append(months, time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC))
	}
	return months, nil
}

// AnalyzePartitioned refreshes the planner's statistics of events and
// hits as wholes. Autovacuum analyses each partition but never a
// partitioned table, and a join's estimate (a segment's "did EVENT", with
// events_track_key_stats) reads the whole's.
// It holds the partition changes' locks meanwhile (ANALYZE and ATTACH
// exclude each other), so another worker's pass waits for it instead of
// timing out.
func (db *DB) AnalyzePartitioned(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, p := range []partitioned{eventPartitions, hitPartitions} {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+partitionLockKey+`)`, p.table); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `ANALYZE events, email_events`)
		return err
	})
	if err != nil {
		return fmt.Errorf("analyze events and hits: %w", err)
	}
	return nil
}

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// rehome records the region of each contact of cs, as db.Regions resolves
// it from their traits, in tx: a contact whose region changes takes its
// pending messages along (queued or deferred, so not held by a delivery
// attempt), each with a line of history, and marked not enqueued so that
// the reconciler queues them on their new region's queue. A task already
// on the old region's queue finds the message's new region when it claims
// it, and hands it back (delivery). Without regions it does nothing.
func (db *DB) rehome(ctx context.Context, tx pgx.Tx, cs []*nurture.Contact) error {
	if !db.Regions.Declared() || len(cs) == 0 {
		return nil
	}
	ids, regions := make([]int64, 0, len(cs)), make([]string, 0, len(cs))
	for _, c := range cs {
		if c == nil || c.ID == 0 {
			continue
		}
		ids, regions = append(ids, c.ID), append(regions, db.Regions.Of(c))
	}
	_, err := moveRegions(ctx, tx, ids, regions)
	return err
}

// moveRegions sets the region of the contacts ids to regions (pairwise)
// and moves their pending messages; it returns how many messages moved.
// Message rows are locked in id order, as every writer of many message
// rows does.
func moveRegions(ctx context.Context, tx pgx.Tx, ids []int64, regions []string) (int, error) {
	var moved int
	err := tx.QueryRow(ctx, `
		WITH x AS (
			SELECT * FROM unnest($1::bigint[], $2::text[]) AS x(id, region)
		), homed AS (
			UPDATE contacts c SET home_region = x.region FROM x
			WHERE c.id = x.id AND c.home_region <> x.region
			RETURNING c.id, x.region
		), pending AS (
			-- Messages stamped before their contact had its region (created
			-- before the regions were declared) move too.
			SELECT m.id, x.region FROM messages m JOIN x ON m.contact_id = x.id
			WHERE m.status IN ('queued', 'deferred') AND m.region <> x.region
				AND (x.id IN (SELECT id FROM homed) OR m.region = '')
		), locked AS MATERIALIZED (
			SELECT m.id, m.region AS old, p.region AS new FROM messages m JOIN pending p ON p.id = m.id
			WHERE m.status IN ('queued', 'deferred') ORDER BY m.id FOR UPDATE OF m
		), done AS (
			UPDATE messages m SET region = l.new, enqueued_at = NULL, updated_at = now()
			FROM locked l WHERE m.id = l.id AND m.status IN ('queued', 'deferred')
			RETURNING m.id, m.status, l.old, l.new
		), history AS (
			INSERT INTO message_status_history (message_id, status, detail)
			SELECT id, status, format('moved to region %s (from %s)', new, coalesce(nullif(old, ''), 'none')) FROM done
		)
		SELECT count(*) FROM done`, ids, regions).Scan(&moved)
	if err != nil {
		return 0, fmt.Errorf("move contacts' regions: %w", err)
	}
	return moved, nil
}

// Rehomed is what a RehomeContacts call did.
type Rehomed struct {
	Contacts int  // contacts this call resolved again
	Moved    int  // messages this call moved to their contact's new region
	Already  bool // the declaration had been caught up with before: nothing to do
}

// RehomeContacts resolves the region of every contact again, a page at a
// time, and moves the pending messages of those whose region changed: the
// catch-up for contacts and messages written before the regions were
// declared, or before the declaration changed. Every write of a contact's
// traits does the same for that contact; this pass is needed once per
// declaration (db.Regions.Fingerprint), which a worker runs at start.
//
// The declaration's row in region_rehomes is the pass's cursor. Each
// page's transaction locks it first, then the page's contacts, so that
// workers starting together share the pages instead of repeating them, a
// write of a contact's traits meanwhile is not undone, and a pass stopped
// midway leaves the cursor for the next start.
func (db *DB) RehomeContacts(ctx context.Context, page int) (Rehomed, error) {
	var r Rehomed
	if !db.Regions.Declared() {
		return r, nil
	}
	if page <= 0 {
		page = 2000
	}
	fingerprint := db.Regions.Fingerprint()
	for first := true; ; first = false {
		over := false
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO region_rehomes (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING`, fingerprint); err != nil {
				return err
			}
			var after int64
			var finished bool
			err := tx.QueryRow(ctx, `SELECT after_id, finished_at IS NOT NULL FROM region_rehomes
				WHERE fingerprint = $1 FOR UPDATE`, fingerprint).Scan(&after, &finished)
			if err != nil {
				return err
			}
			if finished {
				r.Already, over = first, true
				return nil
			}
			rows, err := tx.Query(ctx, `SELECT id, region, country FROM contacts
				WHERE id > $1 AND erased_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE`, after, page)
			if err != nil {
				return err
			}
			var ids []int64
			var regions []string
			var id int64
			var region, country string
			_, err = pgx.ForEachRow(rows, []any{&id, &region, &country}, func() error {
				ids, regions = append(ids, id), append(regions, db.Regions.Resolve(region, country))
				return nil
			})
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				over = true
				_, err = tx.Exec(ctx, `UPDATE region_rehomes SET finished_at = now() WHERE fingerprint = $1`, fingerprint)
				return err
			}
			n, err := moveRegions(ctx, tx, ids, regions)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE region_rehomes SET after_id = $2, contacts = contacts + $3, moved = moved + $4
				WHERE fingerprint = $1`, fingerprint, ids[len(ids)-1], len(ids), n)
			if err == nil {
				r.Contacts, r.Moved = r.Contacts+len(ids), r.Moved+n
			}
			return err
		})
		if err != nil {
			return r, fmt.Errorf("rehome contacts: %w", err)
		}
		if over {
			return r, nil
		}
	}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// erasePoll is how often EraseContact looks whether the emails a worker
// held when the erasure began have settled.
const erasePoll = 20 * time.Millisecond

// EraseContact erases contact id: every row of the data map
// (datamap.go) that belongs to it is deleted, and of its addresses only
// a keyed hash stays (ErasureKey), so that a later sign-up of one is
// held. It returns once no email to the contact can still leave:
//
//  1. one transaction marks the contact erased (every read of contacts
//     leaves it out from then on, the delivery checks included), skips
//     its queued emails and marks those a worker holds as cancelled, as
//     an unsubscribe does;
//  2. it waits until no cancelled email is still held under a live claim
//     (the worker skipped it at its last-moment check, or it had already
//     gone to the relay and its outcome is recorded);
//  3. one transaction deletes the rows, records the hash and the audit
//     record.
//
// An unknown contact, or one erased already, is not found: a second call
// changes nothing. A contact left marked by a call that stopped between 1
// and 3 is finished by the next call.
func (db *DB) EraseContact(ctx context.Context, id int64, by nurture.ErasedBy) error {
	if len(db.ErasureKey) == 0 {
		return errors.New("erase contact: the store has no erasure key")
	}
	var found bool
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE contacts SET erased_at = coalesce(erased_at, now()) WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("mark contact erased: %w", err)
		}
		if found = tag.RowsAffected() == 1; !found {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET cancel_requested = true WHERE contact_id = $1 AND status = 'sending'`, id); err != nil {
			return fmt.Errorf("cancel messages: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE messages SET status = 'skipped', locked_until = NULL, updated_at = now(), last_error = 'erased'
			WHERE contact_id = $1 AND status IN ('queued', 'deferred')`, id)
		if err != nil {
			return fmt.Errorf("cancel messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return &nurture.Error{Code: nurture.CodeNotFound, Message: "contact not found"}
	}
	if err := db.awaitSettled(ctx, id); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return db.erase(ctx, tx, id, by) })
}

// EraseContactByEmail is EraseContact for the contact with that address,
// erased or not yet finished.
func (db *DB) EraseContactByEmail(ctx context.Context, email string, by nurture.ErasedBy) (int64, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `SELECT id FROM contacts WHERE lower(email) = lower($1)`, strings.TrimSpace(email)).Scan(&id)
	if err != nil {
		return 0, notFound(err, "contact")
	}
	return id, db.EraseContact(ctx, id, by)
}

// awaitSettled waits until none of contact id's emails is held under a
// live claim: those the erasure found in a worker's hands are skipped at
// the worker's last check, or recorded as gone.
func (db *DB) awaitSettled(ctx context.Context, id int64) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("erase contact: wait for emails in flight: %w", ctx.Err())
		case <-t.C:
		}
		var n int
		err := db.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1
			AND status = 'sending' AND locked_until > now()`, id).Scan(&n)
		if err != nil {
			return fmt.Errorf("erase contact: emails in flight: %w", err)
		}
		if n == 0 {
			return nil
		}
		t.Reset(erasePoll)
	}
}

// erase deletes contact id's rows, table by table as the data map says,
// and keeps the keyed hash of each of its addresses and the audit record.
func (db *DB) erase(ctx context.Context, tx pgx.Tx, id int64, by nurture.ErasedBy) error {
	var email string
	err := tx.QueryRow(ctx, `SELECT coalesce(email, '') FROM contacts WHERE id = $1 AND erased_at IS NOT NULL FOR UPDATE`, id).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another call finished it meanwhile.
		return &nurture.Error{Code: nurture.CodeNotFound, Message: "contact not found"}
	}
	if err != nil {
		return fmt.Errorf("erase contact: %w", err)
	}
	hashes, err := addressHashes(ctx, tx, id)
	if err != nil {
		return err
	}
	// The keyed hash of the current address, with its suppression's
	// reason (a hard bounce, a complaint: the address is suppressed again
	// if it comes back). Former addresses were given up by the person
	// already and are not held.
	if email != "" {
		var suppression *string
		err := tx.QueryRow(ctx, `SELECT reason FROM suppressions WHERE email_hash = $1 AND reason <> 'unsubscribe'`,
			nurture.EmailHash(email)).Scan(&suppression)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("erase contact: suppression: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO erased_addresses (address_hmac, suppression) VALUES ($1, $2)
			ON CONFLICT (address_hmac) DO UPDATE SET erased_at = now(), suppression = coalesce(excluded.suppression, erased_addresses.suppression)`,
			nurture.ErasedAddressHash(db.ErasureKey, email), suppression)
		if err != nil {
			return fmt.Errorf("erase contact: keep the address's hash: %w", err)
		}
	}
	counts := map[string]int64{}
	for _, t := range personalTables {
		tag, err := tx.Exec(ctx, `WITH args AS (SELECT $1::bigint, $2::bytea[]) DELETE FROM `+t.name+` WHERE `+t.rows, id, hashes)
		if err != nil {
			return fmt.Errorf("erase contact: %s: %w", t.name, err)
		}
		if n := tag.RowsAffected(); n > 0 {
			counts[t.name] = n
		}
	}
	var keyID *int64
	actor := "person"
	if !by.Person() {
		keyID, actor = &by.APIKeyID, "api_key"
	}
	_, err = tx.Exec(ctx, `INSERT INTO erasure_audit (contact_id, action, actor, api_key_id, rows) VALUES ($1, 'erase', $2, $3, $4)`,
		id, actor, keyID, counts)
	if err != nil {
		return fmt.Errorf("erase contact: audit: %w", err)
	}
	return nil
}

// ErasureRecord is one line of the erasure audit.
type ErasureRecord struct {
	ContactID int64
	Actor     string // "api_key" or "person"
	APIKeyID  int64  // 0: the person
	Rows      map[string]int64
	At        time.Time
}

// ErasureAudit returns the audit records of contact id's erasures, oldest
// first.
func (db *DB) ErasureAudit(ctx context.Context, id int64) ([]ErasureRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT contact_id, actor, coalesce(api_key_id, 0), rows, at FROM erasure_audit
		WHERE contact_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("erasure audit: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ErasureRecord, error) {
		var e ErasureRecord
		err := r.Scan(&e.ContactID, &e.Actor, &e.APIKeyID, &e.Rows, &e.At)
		return e, err
	})
}

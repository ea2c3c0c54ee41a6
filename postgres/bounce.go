package postgres

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// bounceBatch is how many bounces one transaction records: a provider's
// large post is written in several short transactions rather than one
// that holds its locks (and a connection) for seconds.
const bounceBatch = 500

// RecordBounces records what a provider reported, in transactions of at
// most bounceBatch bounces, and returns how many addresses it newly
// suppressed. When one fails, those before it stay recorded: a retry of
// the same events changes nothing for them (below).
//
//   - A hard bounce or a complaint suppresses the address (hard_bounce or
//     complaint). A soft bounce counts towards softLimit; the one that
//     reaches it suppresses the address as a hard bounce.
//   - Each bounce is kept in bounces. One already recorded (the provider's
//     retry of the same event: same provider, event id and address; or, when
//     it gave no id, the same type, time, reason and Message-ID) changes
//     nothing, so a replayed webhook does not count a soft bounce twice.
//   - A hard or soft bounce whose Message-ID is one of this installation's
//     (nurture.MessageIDs) marks that message bounced, when it stands at
//     sent and the bounced address is its contact's (now or before an
//     email change), with a line of history. Message-IDs travel in mail
//     and reports that others see; the address check means one cannot
//     bounce somebody else's message.
//
// A bounce without a time is taken to happen now.
func (db *DB) RecordBounces(ctx context.Context, bounces []nurture.Bounce, softLimit int) (suppressed int, err error) {
	if softLimit < 1 {
		return 0, nurture.Errorf(nurture.CodeInvalid, "the soft bounce limit must be at least 1, not %d", softLimit)
	}
	type item struct {
		b    nurture.Bounce
		hash []byte
		key  string
	}
	now := db.Clock.Now()
	items := make([]item, 0, len(bounces))
	for i, b := range bounces {
		if !b.Type.Valid() {
			return 0, nurture.FieldError(fmt.Sprintf("[%d].type", i), "%q is not a bounce type", b.Type)
		}
		if strings.TrimSpace(b.Email) == "" {
			return 0, nurture.FieldError(fmt.Sprintf("[%d].email", i), "is required")
		}
		if b.At.IsZero() {
			b.At = now
		}
		items = append(items, item{b: b, hash: nurture.EmailHash(b.Email), key: bounceEventKey(b)})
	}
	// The same lock order in every transaction: two posts about the same
	// addresses wait for each other instead of deadlocking.
	slices.SortStableFunc(items, func(x, y item) int {
		return cmp.Or(bytes.Compare(x.hash, y.hash), x.b.At.Compare(y.b.At))
	})
	if len(items) == 0 {
		return 0, nil
	}
	ids, err := db.MessageIDs(ctx)
	if err != nil {
		return 0, err
	}
	for batch := range slices.Chunk(items, bounceBatch) {
		err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			n := 0
			for _, it := range batch {
				one, err := recordBounce(ctx, tx, ids, it.b, it.hash, it.key, softLimit)
				if err != nil {
					return err
				}
				n += one
			}
			suppressed += n
			return nil
		})
		if err != nil {
			return suppressed, err
		}
	}
	return suppressed, nil
}

// bounceEventKey identifies b among its provider's events: the provider's
// event id, or when it gave none, a digest of what it said.
func bounceEventKey(b nurture.Bounce) string {
	if b.EventID != "" {
		return "id:" + b.EventID
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{
		string(b.Type), b.At.UTC().Format(time.RFC3339Nano), b.Reason, b.MessageID}, "\x00")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// recordBounce records one bounce and returns 1 when it suppressed the address.
func recordBounce(ctx context.Context, tx pgx.Tx, ids nurture.MessageIDs, b nurture.Bounce, hash []byte, key string, softLimit int) (int, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO bounces (email_hash, type, reason, provider, event_key, message_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (provider, event_key, email_hash) DO NOTHING
		RETURNING id`,
		hash, b.Type, b.Reason, b.Provider, key, b.MessageID, b.At).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil // recorded before: a retry of the same event
	}
	if err != nil {
		return 0, fmt.Errorf("insert bounce: %w", err)
	}

	if msgID, ours := ids.Ours(b.MessageID); ours && b.Type != nurture.BounceComplaint {
		if err := markBounced(ctx, tx, msgID, b); err != nil {
			return 0, err
		}
	}

	reason, detail := nurture.SuppressHardBounce, describeBounce(b)
	switch b.Type {
	case nurture.BounceComplaint:
		reason = nurture.SuppressComplaint
	case nurture.BounceSoft:
		var count int
		err := tx.QueryRow(ctx, `
			INSERT INTO soft_bounces (email_hash, count, last_at) VALUES ($1, 1, $2)
			ON CONFLICT (email_hash) DO UPDATE
				SET count = soft_bounces.count + 1, last_at = greatest(soft_bounces.last_at, excluded.last_at)
			RETURNING count`, hash, b.At).Scan(&count)
		if err != nil {
			return 0, fmt.Errorf("count soft bounce: %w", err)
		}
		if count < softLimit {
			return 0, nil
		}
		detail = fmt.Sprintf("%d soft bounces, the last %s", count, detail)
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO suppressions (email_hash, email, reason, detail) VALUES ($1, $2, $3, $4)
		ON CONFLICT (email_hash) DO NOTHING`,
		hash, b.Email, reason, detail)
	if err != nil {
		return 0, fmt.Errorf("suppress bounced address: %w", err)
	}
	if err := consentsOnBounce(ctx, tx, b, tag.RowsAffected() == 1); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// markBounced moves our message id from sent to bounced, when b's address
// is one its contact has or had. A message in any other state is left
// alone: one not yet sent will meet the suppression when it is, one
// already bounced has its history.
func markBounced(ctx context.Context, tx pgx.Tx, id int64, b nurture.Bounce) error {
	detail := describeBounce(b)
	tag, err := tx.Exec(ctx, `
		UPDATE messages m SET status = 'bounced', last_error = $2, updated_at = now()
		WHERE m.id = $1 AND m.status = 'sent' AND (
			EXISTS (SELECT 1 FROM contacts c WHERE c.id = m.contact_id AND lower(c.email) = lower($3))
			OR EXISTS (SELECT 1 FROM contact_email_changes e
				WHERE e.contact_id = m.contact_id AND lower(e.old_email) = lower($3)))`, id, detail, b.Email)
	if err != nil {
		return fmt.Errorf("mark message bounced: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO message_status_history (message_id, status, detail) VALUES ($1, $2, $3)`,
		id, nurture.StatusBounced, detail)
	if err != nil {
		return fmt.Errorf("insert message history: %w", err)
	}
	return nil
}

// describeBounce is the detail of a suppression or a history line:
// "hard bounce from ses: smtp; 550 5.1.1 user unknown".
func describeBounce(b nurture.Bounce) string {
	what := string(b.Type) + " bounce"
	if b.Type == nurture.BounceComplaint {
		what = "complaint"
	}
	if b.Provider != "" {
		what += " from " + b.Provider
	}
	if b.Reason != "" {
		what += ": " + b.Reason
	}
	return what
}

package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// ChangeConsents applies ch in one transaction: each opt-out replaces an
// opt-in of its topic (topic_optouts is what the send path reads), each
// opt-in replaces an opt-out, and each actual change is recorded in the
// contact's history with its source and address. Opt-outs end the
// contact's enrollments in sequences of those topics at their next
// decision, skip their queued messages of ch.CancelTemplates and mark
// those a worker holds as cancelled, as SetPreferences always did.
func (db *DB) ChangeConsents(ctx context.Context, ch nurture.ConsentChange) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		return changeConsents(ctx, tx, db.ErasureKey, ch)
	})
}

// changeConsents applies ch in tx. An opt-in also ends the contact's hold,
// if it is held (releaseHold, with the erasure key).
func changeConsents(ctx context.Context, tx pgx.Tx, key []byte, ch nurture.ConsentChange) error {
	for _, t := range ch.OptIn {
		if slices.Contains(ch.OptOut, t) {
			return nurture.FieldError("topic", "%s cannot be opted in to and out of at once", t)
		}
	}
	out, in := topicStrings(ch.OptOut), topicStrings(ch.OptIn)
	var changedOut, changedIn []string
	if len(out) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM topic_optins WHERE contact_id = $1 AND topic = ANY($2)`, ch.ContactID, out); err != nil {
			return fmt.Errorf("opt out: %w", err)
		}
		rows, err := tx.Query(ctx, `INSERT INTO topic_optouts (contact_id, topic, via) SELECT $1, unnest($2::text[]), $3
			ON CONFLICT DO NOTHING RETURNING topic`, ch.ContactID, out, ch.Source)
		if err != nil {
			return fmt.Errorf("opt out: %w", err)
		}
		if changedOut, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("opt out: %w", err)
		}
	}
	if len(in) > 0 {
		rows, err := tx.Query(ctx, `WITH back AS (DELETE FROM topic_optouts WHERE contact_id = $1 AND topic = ANY($2) RETURNING topic),
			fresh AS (INSERT INTO topic_optins (contact_id, topic, via) SELECT $1, unnest($2::text[]), $3
				ON CONFLICT DO NOTHING RETURNING topic)
			SELECT topic FROM back UNION SELECT topic FROM fresh`, ch.ContactID, in, ch.Source)
		if err != nil {
			return fmt.Errorf("opt in: %w", err)
		}
		if changedIn, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("opt in: %w", err)
		}
		// A new opt-in is what a held contact (an erased address come
		// back) waits for.
		if err := releaseHold(ctx, tx, key, ch.ContactID); err != nil {
			return err
		}
	}
	topics := append(slices.Clone(changedOut), changedIn...)
	granted := make([]bool, len(topics))
	for i := len(changedOut); i < len(topics); i++ {
		granted[i] = true
	}
	if len(topics) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO consent_records (contact_id, topic, granted, source, ip)
			SELECT $1, t, g, $4, $5 FROM unnest($2::text[], $3::boolean[]) AS c(t, g)`,
			ch.ContactID, topics, granted, ch.Source, ch.IP); err != nil {
			return fmt.Errorf("record consents: %w", err)
		}
	}
	if len(changedOut) > 0 {
		// The contact's enrollments in sequences of those topics end at
		// their next decision: the sequence engine wakes them.
		if _, err := tx.Exec(ctx, `INSERT INTO sequence_signals (contact_id, kind, name, at)
			SELECT DISTINCT $1::bigint, 'topic', topic, now() FROM enrollments
			WHERE contact_id = $1 AND status = 'active' AND topic = ANY($2)`, ch.ContactID, changedOut); err != nil {
			return fmt.Errorf("signal sequences: %w", err)
		}
	}
	if len(ch.CancelTemplates) == 0 {
		return nil
	}
	return cancelQueued(ctx, tx, ch.ContactID, ch.CancelTemplates)
}

// cancelQueued skips the contact's queued messages of the templates and
// marks those a worker holds: the worker looks for the mark every second
// and skips them unless already on their way.
func cancelQueued(ctx context.Context, tx pgx.Tx, contactID int64, templates []string) error {
	if _, err := tx.Exec(ctx, `UPDATE messages SET cancel_requested = true
		WHERE contact_id = $1 AND status = 'sending' AND template = ANY($2)`, contactID, templates); err != nil {
		return fmt.Errorf("cancel messages: %w", err)
	}
	rows, err := tx.Query(ctx, `UPDATE messages SET status = 'skipped', locked_until = NULL, updated_at = now()
		WHERE contact_id = $1 AND status IN ('queued', 'deferred') AND template = ANY($2) RETURNING id`, contactID, templates)
	if err != nil {
		return fmt.Errorf("cancel messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("cancel messages: %w", err)
	}
	outcomes := make([]nurture.Outcome, len(ids))
	for i, id := range ids {
		outcomes[i] = nurture.Outcome{MessageID: id, Status: nurture.StatusSkipped, Detail: "unsubscribed"}
	}
	return addHistory(ctx, tx, outcomes)
}

func topicStrings(ts []nurture.Topic) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// OptIns returns, for each of the contacts that opted in to any topic
// explicitly, the topics they opted in to: what the send path reads for a
// topic that requires an opt-in.
func (db *DB) OptIns(ctx context.Context, contactIDs []int64) (map[int64][]nurture.Topic, error) {
	rows, err := db.pool.Query(ctx, `SELECT contact_id, topic FROM topic_optins WHERE contact_id = ANY($1)`, contactIDs)
	if err != nil {
		return nil, fmt.Errorf("opt-ins: %w", err)
	}
	out := map[int64][]nurture.Topic{}
	var id int64
	var topic nurture.Topic
	_, err = pgx.ForEachRow(rows, []any{&id, &topic}, func() error {
		out[id] = append(out[id], topic)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("opt-ins: %w", err)
	}
	return out, nil
}

// ContactConsents returns contact id's consents: where it stands on each
// topic a person can choose now (opted in, opted out, or neither), and
// every recorded change, oldest first. A contact that does not exist has
// every topic at its default and no history.
func (db *DB) ContactConsents(ctx context.Context, id int64) (*nurture.Consents, error) {
	cs := &nurture.Consents{History: []nurture.ConsentRecord{}}
	current := map[nurture.Topic]nurture.Consent{}
	rows, err := db.pool.Query(ctx, `SELECT topic, created_at, via, false FROM topic_optouts WHERE contact_id = $1
		UNION ALL SELECT topic, created_at, via, true FROM topic_optins WHERE contact_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("contact consents: %w", err)
	}
	var c nurture.Consent
	var in bool
	_, err = pgx.ForEachRow(rows, []any{&c.Topic, &c.Since, &c.Source, &in}, func() error {
		c.State = nurture.ConsentOptedOut
		if in {
			c.State = nurture.ConsentOptedIn
		}
		current[c.Topic] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("contact consents: %w", err)
	}
	for _, t := range nurture.PreferenceTopics {
		c, ok := current[t]
		if !ok {
			c = nurture.Consent{Topic: t, State: nurture.ConsentDefault}
		}
		cs.Current = append(cs.Current, c)
	}
	rows, err = db.pool.Query(ctx, `SELECT coalesce(topic, ''), granted, source, ip, at FROM consent_records
		WHERE contact_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	var r nurture.ConsentRecord
	_, err = pgx.ForEachRow(rows, []any{&r.Topic, &r.Granted, &r.Source, &r.IP, &r.At}, func() error {
		cs.History = append(cs.History, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	return cs, nil
}

// consentsOnBounce records what a bounce or complaint did to the consents
// of the contacts with the address: a complaint opts them out of every
// topic a person can choose (the person said "spam"); a bounce that
// suppressed the address is recorded as a line about the whole address,
// leaving the topics as they were (the address is dead, not the person's
// choices: a new address of theirs gets what they chose).
func consentsOnBounce(ctx context.Context, tx pgx.Tx, b nurture.Bounce, suppressed bool) error {
	if b.Type != nurture.BounceComplaint && !suppressed {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM contacts WHERE lower(email) = lower($1) AND erased_at IS NULL`, b.Email)
	if err != nil {
		return fmt.Errorf("contacts of a bounce: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("contacts of a bounce: %w", err)
	}
	for _, id := range ids {
		if b.Type == nurture.BounceComplaint {
			// Opting out only: no hold to end, no key needed.
			if err := changeConsents(ctx, tx, nil, nurture.ConsentChange{ContactID: id, OptOut: nurture.PreferenceTopics,
				Source: nurture.ConsentComplaint}); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO consent_records (contact_id, topic, granted, source, at)
			VALUES ($1, NULL, false, 'bounce', $2)`, id, b.At); err != nil {
			return fmt.Errorf("record bounce consent: %w", err)
		}
	}
	return nil
}

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/nurture-email/nurture"
)

// RecordHits stores opens and clicks, many in one statement. Hits of a
// contact that is erased or gone (an erased person's old link) are
// dropped: their tokens still verify, but record nothing. So are hits
// whose message is not their contact's: the pair (message, contact) comes
// from a signed token, but a database reset, or a second installation
// with the same secret, signed the same ids for other people (the rule of
// every recipient endpoint, api.recipientMessage). The last
// human open and click of a contact are read from these rows (see
// Engagement), so that a burst of hits rewrites no summary row.
func (db *DB) RecordHits(ctx context.Context, hits []nurture.Hit) error {
	if len(hits) == 0 {
		return nil
	}
	n := len(hits)
	var (
		msgIDs, contactIDs      = make([]int64, n), make([]int64, n)
		kinds, classes, reasons = make([]string, n), make([]string, n), make([]string, n)
		links                   = make([]*int32, n)
		urls                    = make([]*string, n)
		ips, agents             = make([]string, n), make([]string, n)
		ats                     = make([]time.Time, n)
	)
	for i := range hits {
		h := &hits[i]
		msgIDs[i], contactIDs[i] = h.MessageID, h.ContactID
		kinds[i], classes[i], reasons[i] = string(h.Kind), string(h.Class), h.Reason
		if h.Kind == nurture.HitClick {
			idx := int32(h.LinkIndex)
			links[i], urls[i] = &idx, &h.URL
		}
		if h.IP.IsValid() {
			ips[i] = h.IP.String()
		}
		agents[i], ats[i] = truncate(h.UserAgent, 512), h.At
	}
	// One statement, one commit: the hits, and a sequence signal for each
	// contact who opened or clicked as a person while one of their
	// enrollments waits on it (a wait_until on engagement), which finds
	// nothing to do unless such an enrollment exists.
	_, err := db.pool.Exec(ctx, `
		WITH hit AS (
			INSERT INTO email_events (message_id, contact_id, kind, class, reason, link_index, url, ip, user_agent, at)
			SELECT h.message_id, h.contact_id, h.kind, h.class, h.reason, h.link_index, h.url, h.ip, h.user_agent, h.at
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
				AS h(message_id, contact_id, kind, class, reason, link_index, url, ip, user_agent, at)
			JOIN contacts c ON c.id = h.contact_id AND c.erased_at IS NULL
			JOIN messages m ON m.id = h.message_id AND m.contact_id = h.contact_id
			RETURNING contact_id, class, at
		)
		INSERT INTO sequence_signals (contact_id, kind, at)
		SELECT hit.contact_id, 'hits', max(hit.at) FROM hit
		WHERE hit.class = 'human' AND EXISTS (SELECT 1 FROM enrollment_wakes w WHERE w.contact_id = hit.contact_id AND w.key = 'hits')
		GROUP BY hit.contact_id`,
		msgIDs, contactIDs, kinds, classes, reasons, links, urls, ips, agents, ats)
	if err != nil {
		return fmt.Errorf("record hits: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// MessageHits returns the opens and clicks of a message, oldest first. They
// are found through the contact's index (email_events has no index of its
// own by message: see migration 00006): a contact's hits are few.
func (db *DB) MessageHits(ctx context.Context, messageID int64) ([]nurture.Hit, error) {
	rows, err := db.pool.Query(ctx, `SELECT kind, class, reason, coalesce(link_index, 0), coalesce(url, ''), user_agent, at
		FROM email_events
		WHERE contact_id = (SELECT contact_id FROM messages WHERE id = $1) AND message_id = $1
		ORDER BY at, id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("message hits: %w", err)
	}
	defer rows.Close()
	var out []nurture.Hit
	for rows.Next() {
		h := nurture.Hit{MessageID: messageID}
		if err := rows.Scan(&h.Kind, &h.Class, &h.Reason, &h.LinkIndex, &h.URL, &h.UserAgent, &h.At); err != nil {
			return nil, fmt.Errorf("message hits: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

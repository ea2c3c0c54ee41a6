package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// CampaignPage returns up to limit campaigns whose id is below before (0:
// from the newest), the newest first: the console's list, a page at a
// time, on the primary key.
func (db *DB) CampaignPage(ctx context.Context, before int64, limit int) ([]*nurture.Campaign, error) {
	rows, err := db.pool.Query(ctx, campaignSelect+` WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign page: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("campaign page: %w", err)
	}
	return out, nil
}

// CampaignTotals returns the figures the console's list shows beside each
// of the campaigns ids: its messages by status and the people who opened
// and clicked (unique contacts, machines and scanners left out); the
// other fields of each CampaignStats stay empty. A campaign without
// messages has none. Both queries read only the campaigns' own messages
// (messages_campaign_idx) and their contacts' events
// (email_events_contact_idx): the cost grows with the campaigns' sizes,
// not with the contacts' (about 15 ms per 1,000 messages here), which is
// why the console counts only small campaigns this way.
func (db *DB) CampaignTotals(ctx context.Context, ids []int64) (map[int64]*nurture.CampaignStats, error) {
	out := make(map[int64]*nurture.CampaignStats, len(ids))
	of := func(id int64) *nurture.CampaignStats {
		s, ok := out[id]
		if !ok {
			s = &nurture.CampaignStats{ByStatus: map[string]int64{}}
			out[id] = s
		}
		return s
	}
	rows, err := db.pool.Query(ctx, `SELECT campaign_id, status, count(*) FROM messages
		WHERE campaign_id = ANY ($1) GROUP BY 1, 2`, ids)
	if err != nil {
		return nil, fmt.Errorf("campaign totals: %w", err)
	}
	var id, n int64
	var status string
	_, err = pgx.ForEachRow(rows, []any{&id, &status, &n}, func() error {
		of(id).ByStatus[status] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign totals: %w", err)
	}
	// A campaign mails a contact once (its dedupe key), so its messages
	// with a person's open count the people who opened. Each message's
	// events are found through its contact's (email_events_contact_idx:
	// email_events has no index by message, migration 00006).
	rows, err = db.pool.Query(ctx, `SELECT m.campaign_id,
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.contact_id = m.contact_id AND e.message_id = m.id AND e.kind = 'open' AND e.class = 'human')),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.contact_id = m.contact_id AND e.message_id = m.id AND e.kind = 'click' AND e.class = 'human'))
		FROM messages m WHERE m.campaign_id = ANY ($1) GROUP BY 1`, ids)
	if err != nil {
		return nil, fmt.Errorf("campaign totals: %w", err)
	}
	var opens, clicks int64
	_, err = pgx.ForEachRow(rows, []any{&id, &opens, &clicks}, func() error {
		if s, ok := out[id]; ok {
			s.HumanOpens, s.HumanClicks = opens, clicks
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign totals: %w", err)
	}
	return out, nil
}

// SaveCampaignFigures keeps a campaign's figures as counted at at, unless
// figures counted later are kept already.
func (db *DB) SaveCampaignFigures(ctx context.Context, id int64, s *nurture.CampaignStats, at time.Time) error {
	figures, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save campaign figures: %w", err)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO campaign_figures (campaign_id, figures, counted_at) VALUES ($1, $2, $3)
		ON CONFLICT (campaign_id) DO UPDATE SET figures = excluded.figures, counted_at = excluded.counted_at
		WHERE campaign_figures.counted_at < excluded.counted_at`, id, string(figures), at)
	if err != nil {
		return fmt.Errorf("save campaign figures: %w", err)
	}
	return nil
}

// CampaignFigures returns the figures kept for each of the campaigns ids,
// with when they were counted (CountedAt); a campaign never counted is
// absent. It reads them by primary key.
func (db *DB) CampaignFigures(ctx context.Context, ids []int64) (map[int64]*nurture.CampaignStats, error) {
	rows, err := db.pool.Query(ctx, `SELECT campaign_id, figures, counted_at FROM campaign_figures WHERE campaign_id = ANY ($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("campaign figures: %w", err)
	}
	out := make(map[int64]*nurture.CampaignStats, len(ids))
	var id int64
	var at time.Time
	var s *nurture.CampaignStats
	_, err = pgx.ForEachRow(rows, []any{&id, &s, &at}, func() error {
		s.CountedAt = at
		out[id] = s
		s = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign figures: %w", err)
	}
	return out, nil
}

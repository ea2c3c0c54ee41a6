package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// Campaigns: their rows, the frozen audience and the fan-out's steps. Each
// step is one transaction that locks the campaign's row first, so that the
// pollers of several workers take turns on a campaign, and a pause or a
// cancel waits for the step in progress and is then seen by the next.

const campaignSelect = `SELECT id, name, template, topic, subject, coalesce(segment_id, 0), filter, status,
	send_at, local_date, coalesce(local_minute, 0), fallback_zone, starts_at, throttle_per_minute, ends_at,
	coalesce((SELECT sum(l.audience) FROM campaign_lanes l WHERE l.campaign_id = campaigns.id), 0), frozen, started_at, finished_at, created_at, updated_at,
	ab, coalesce(winner, -1), decided_at, coalesce(decision, '[]'), send_window FROM campaigns`

func scanCampaign(row pgx.Row) (*nurture.Campaign, error) {
	c := &nurture.Campaign{}
	var sendAt, localDate, startsAt, endsAt, startedAt, finishedAt, decidedAt *time.Time
	err := row.Scan(&c.ID, &c.Name, &c.Template, &c.Topic, &c.Subject, &c.SegmentID, &c.Filter, &c.Status,
		&sendAt, &localDate, &c.LocalMinute, &c.FallbackZone, &startsAt, &c.ThrottlePerMinute, &endsAt,
		&c.Audience, &c.Frozen, &startedAt, &finishedAt, &c.CreatedAt, &c.UpdatedAt,
		&c.AB, &c.Winner, &decidedAt, &c.Decision, &c.SendWindow)
	if err != nil {
		return nil, err
	}
	c.DecidedAt = orZero(decidedAt)
	c.SendAt, c.LocalDate, c.StartsAt, c.EndsAt = orZero(sendAt), orZero(localDate), orZero(startsAt), orZero(endsAt)
	c.StartedAt, c.FinishedAt = orZero(startedAt), orZero(finishedAt)
	if cond, err := nurture.ParseSegmentFilter(c.Filter); err == nil {
		c.Condition = cond
	}
	return c, nil
}

func campaignArgs(c *nurture.Campaign) ([]any, error) {
	filter, err := json.Marshal(c.Filter)
	if err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.Name, err)
	}
	var localDate, localMinute any
	if !c.LocalDate.IsZero() {
		localDate, localMinute = c.LocalDate.Format("2006-01-02"), c.LocalMinute
	}
	var ab any
	if c.AB != nil {
		raw, err := json.Marshal(c.AB)
		if err != nil {
			return nil, fmt.Errorf("campaign %q: %w", c.Name, err)
		}
		ab = json.RawMessage(raw)
	}
	return []any{c.Name, c.Template, string(c.Topic), c.Subject, nullableID(c.SegmentID), json.RawMessage(filter),
		nullTime(c.SendAt), localDate, localMinute, c.FallbackZone, nullTime(c.StartsAt), c.ThrottlePerMinute, nullTime(c.EndsAt), ab,
		cmp.Or(c.SendWindow, "any")}, nil
}

// CreateCampaign stores a new campaign, a draft unless c.Status says
// scheduled, and fills in its id and times.
func (db *DB) CreateCampaign(ctx context.Context, c *nurture.Campaign) error {
	args, err := campaignArgs(c)
	if err != nil {
		return err
	}
	if c.Status == "" {
		c.Status = "draft"
	}
	err = db.pool.QueryRow(ctx, `INSERT INTO campaigns (name, template, topic, subject, segment_id, filter, send_at, local_date,
			local_minute, fallback_zone, starts_at, throttle_per_minute, ends_at, ab, send_window, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id, created_at, updated_at`,
		append(args, c.Status)...).Scan(&c.ID, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	return nil
}

// Campaign returns the campaign with the given id.
func (db *DB) Campaign(ctx context.Context, id int64) (*nurture.Campaign, error) {
	c, err := scanCampaign(db.pool.QueryRow(ctx, campaignSelect+` WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "campaign")
	}
	return c, nil
}

// Campaigns returns every campaign, the newest first.
func (db *DB) Campaigns(ctx context.Context) ([]*nurture.Campaign, error) {
	rows, err := db.pool.Query(ctx, campaignSelect+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	return out, nil
}

// errNotEditable is a change to a campaign whose audience is frozen.
func errNotEditable(status string) error {
	return &nurture.Error{Code: nurture.CodeConflict, Field: "status",
		Message: fmt.Sprintf("a %s campaign cannot be changed: only a draft or a scheduled one can", status)}
}

// UpdateCampaign replaces a draft or scheduled campaign's content,
// audience and schedule, and its status (draft or scheduled). A campaign
// that started meanwhile is a conflict.
func (db *DB) UpdateCampaign(ctx context.Context, c *nurture.Campaign) error {
	args, err := campaignArgs(c)
	if err != nil {
		return err
	}
	var status string
	err = db.pool.QueryRow(ctx, `UPDATE campaigns SET name = $1, template = $2, topic = $3, subject = $4, segment_id = $5,
			filter = $6, send_at = $7, local_date = $8, local_minute = $9, fallback_zone = $10, starts_at = $11,
			throttle_per_minute = $12, ends_at = $13, ab = $14, send_window = $15, status = $17, updated_at = now()
		WHERE id = $16 AND status IN ('draft', 'scheduled') RETURNING status, updated_at`,
		append(args, c.ID, c.Status)...).Scan(&status, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		cur, err := db.Campaign(ctx, c.ID)
		if err != nil {
			return err
		}
		return errNotEditable(cur.Status)
	}
	if err != nil {
		return fmt.Errorf("update campaign: %w", err)
	}
	return nil
}

// ActiveCampaigns returns the campaigns the fan-out has work for: sending,
// or scheduled and due to start by now.
func (db *DB) ActiveCampaigns(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM campaigns WHERE status = 'sending' OR (status = 'scheduled' AND starts_at <= $1)
		ORDER BY id`, now)
	if err != nil {
		return nil, fmt.Errorf("active campaigns: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("active campaigns: %w", err)
	}
	return ids, nil
}

// lockCampaign locks a campaign's row for the transaction and returns its
// status.
func lockCampaign(ctx context.Context, tx pgx.Tx, id int64) (string, error) {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1 FOR UPDATE`, id).Scan(&status)
	if err != nil {
		return "", notFound(err, "campaign")
	}
	return status, nil
}

// StartCampaign starts the freeze of a campaign that is due: a scheduled
// campaign becomes sending, with lanes lanes (see nurture.CampaignLane),
// in one transaction. It returns the campaign's lanes as they stand: the
// ones made now, or those of a campaign that started before (their
// number fixed then); none when the campaign is neither scheduled nor
// sending.
func (db *DB) StartCampaign(ctx context.Context, id int64, lanes int, now time.Time) ([]nurture.CampaignLane, error) {
	var out []nurture.CampaignLane
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		status, err := lockCampaign(ctx, tx, id)
		if err != nil {
			return err
		}
		switch status {
		case "scheduled":
			_, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'sending', started_at = coalesce(started_at, $2), updated_at = now()
				WHERE id = $1`, id, now)
			if err != nil {
				return fmt.Errorf("start campaign %d: %w", id, err)
			}
			// A campaign paused before it started and resumed has its
			// lanes already; one never started gets them now.
			_, err = tx.Exec(ctx, `INSERT INTO campaign_lanes (campaign_id, lane)
				SELECT $1, g FROM generate_series(0, $2::int - 1) g
				WHERE NOT EXISTS (SELECT 1 FROM campaign_lanes WHERE campaign_id = $1)`, id, max(lanes, 1))
			if err != nil {
				return fmt.Errorf("start campaign %d: %w", id, err)
			}
		case "sending":
		default:
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT lane, frozen_through, frozen, audience FROM campaign_lanes WHERE campaign_id = $1 ORDER BY lane`, id)
		if err != nil {
			return fmt.Errorf("start campaign %d: %w", id, err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (nurture.CampaignLane, error) {
			var l nurture.CampaignLane
			err := r.Scan(&l.Lane, &l.Through, &l.Frozen, &l.Audience)
			return l, err
		})
		if err != nil {
			return fmt.Errorf("start campaign %d: %w", id, err)
		}
		return nil
	})
	return out, err
}

// FreezeAudience adds a page of a lane of a sending campaign's audience,
// with the lane's checkpoint it reached (the last contact id the page
// looked at) and whether it was the lane's last page, in one transaction:
// a fan-out that stops between pages resumes after the last page each
// lane committed. With dispatch, every member of the page is due now and
// gets its message in the same statement (marked enqueued, as
// DispatchDue's); their ids are returned, to be handed to the task queue.
// It does nothing (false) unless the campaign is sending and the lane's
// checkpoint is still before the page (another worker froze it). The
// campaign's row is held FOR SHARE, so that the lanes write at once and a
// pause or a cancel (FOR UPDATE) waits for the pages in progress.
func (db *DB) FreezeAudience(ctx context.Context, id int64, lane int, after int64, members []nurture.AudienceMember, through int64, done bool, now time.Time, dispatch bool) (bool, []nurture.Queued, error) {
	froze := false
	var out []nurture.Queued
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1 FOR SHARE`, id).Scan(&status); err != nil {
			return notFound(err, "campaign")
		}
		var checkpoint int64
		var frozen bool
		err := tx.QueryRow(ctx, `SELECT frozen_through, frozen FROM campaign_lanes WHERE campaign_id = $1 AND lane = $2 FOR UPDATE`,
			id, lane).Scan(&checkpoint, &frozen)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("freeze audience: %w", err)
		}
		if status != "sending" || frozen || checkpoint != after {
			return nil
		}
		n := len(members)
		contacts, dues, buckets, variants := make([]int64, n), make([]time.Time, n), make([]time.Time, n), make([]int32, n)
		for i, m := range members {
			contacts[i], dues[i], buckets[i], variants[i] = m.ContactID, m.DueAt, m.Bucket, int32(m.Variant)
		}
		if dispatch {
			// The messages first: the audience rows are written with
			// their ids (a statement's parts cannot see each other's rows).
			rows, err := tx.Query(ctx, `WITH u AS (
					SELECT * FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::smallint[])
						AS u(contact_id, due_at, bucket, variant)),
				m AS (
					INSERT INTO messages (dedupe_key, contact_id, template, topic, subject, queue, send_at, campaign_id, enqueued_at, region)
					SELECT 'camp:' || $1::bigint || ':' || u.contact_id, u.contact_id, c.template, c.topic, c.subject, 'low',
						greatest(u.due_at, $6), $1::bigint, $6, k.home_region
					FROM u JOIN contacts k ON k.id = u.contact_id, campaigns c WHERE c.id = $1::bigint
					ON CONFLICT (dedupe_key) DO NOTHING
					RETURNING id, contact_id, region),
				a AS (INSERT INTO campaign_audience (campaign_id, contact_id, due_at, bucket, variant, message_id, dispatched_at)
					SELECT $1::bigint, u.contact_id, u.due_at, u.bucket, u.variant, m.id, CASE WHEN m.id IS NULL THEN NULL ELSE $6::timestamptz END
					FROM u LEFT JOIN m ON m.contact_id = u.contact_id
					ON CONFLICT DO NOTHING)
				SELECT id, region FROM m`, id, contacts, dues, buckets, variants, now)
			if err != nil {
				return fmt.Errorf("freeze audience: %w", err)
			}
			if out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[nurture.Queued]); err != nil {
				return fmt.Errorf("freeze audience: %w", err)
			}
		} else {
			_, err := tx.Exec(ctx, `INSERT INTO campaign_audience (campaign_id, contact_id, due_at, bucket, variant)
				SELECT $1, * FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::smallint[]) ON CONFLICT DO NOTHING`,
				id, contacts, dues, buckets, variants)
			if err != nil {
				return fmt.Errorf("freeze audience: %w", err)
			}
		}
		// The checkpoint fences the page: none of its members can be in
		// the audience already, so the page's size is what it added.
		_, err = tx.Exec(ctx, `UPDATE campaign_lanes SET audience = audience + $3, frozen_through = $4, frozen = $5
			WHERE campaign_id = $1 AND lane = $2`, id, lane, n, through, done)
		if err != nil {
			return fmt.Errorf("freeze audience: %w", err)
		}
		froze = true
		return nil
	})
	if err != nil || !froze {
		return false, nil, err
	}
	return true, out, nil
}

// SealAudience marks a sending campaign's audience frozen once every one
// of its lanes is. It reports whether the audience is frozen.
func (db *DB) SealAudience(ctx context.Context, id int64) (bool, error) {
	var frozen bool
	err := db.pool.QueryRow(ctx, `WITH s AS (
			UPDATE campaigns SET frozen = true, updated_at = now()
			WHERE id = $1 AND status = 'sending' AND NOT frozen
				AND EXISTS (SELECT 1 FROM campaign_lanes WHERE campaign_id = $1)
				AND NOT EXISTS (SELECT 1 FROM campaign_lanes WHERE campaign_id = $1 AND NOT frozen)
			RETURNING frozen)
		SELECT coalesce((SELECT frozen FROM s), (SELECT frozen FROM campaigns WHERE id = $1), false)`, id).Scan(&frozen)
	if err != nil {
		return false, fmt.Errorf("seal campaign %d: %w", id, err)
	}
	return frozen, nil
}

// DispatchDue gives the members of a sending campaign's audience whose
// email is due by dueBy their message rows, and returns their ids (to be
// handed to the task queue). allow says how many it may create,
// given how many the campaign created in the minute before now (its
// throttle). Messages are due at their member's time, or now if that has
// passed; their dedupe key is camp:<campaign>:<contact>. They are marked
// enqueued now: the caller hands them to the task queue at once, and
// should that be lost, the reconciler queues them again after its grace.
func (db *DB) DispatchDue(ctx context.Context, id int64, now, dueBy time.Time, allow func(lastMinute int64) int) ([]nurture.Queued, error) {
	var out []nurture.Queued
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		status, err := lockCampaign(ctx, tx, id)
		if err != nil || status != "sending" {
			return err
		}
		var lastMinute int64
		err = tx.QueryRow(ctx, `SELECT count(*) FROM campaign_audience WHERE campaign_id = $1 AND dispatched_at > $2`,
			id, now.Add(-time.Minute)).Scan(&lastMinute)
		if err != nil {
			return fmt.Errorf("dispatch campaign %d: %w", id, err)
		}
		limit := allow(lastMinute)
		if limit <= 0 {
			return nil
		}
		// A member of the rest of an A/B test waits for the winner; each
		// email is its variant's template and subject, or the campaign's.
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT a.contact_id, greatest(a.due_at, $3) AS send_at,
					CASE WHEN a.variant >= 0 THEN a.variant ELSE c.winner END AS v
				FROM campaign_audience a JOIN campaigns c ON c.id = a.campaign_id
				WHERE a.campaign_id = $1 AND a.message_id IS NULL AND NOT a.dropped AND a.due_at <= $2
					AND (a.variant >= 0 OR c.ab IS NULL OR (c.ab->>'testShare')::float8 >= 1 OR c.winner IS NOT NULL)
				ORDER BY a.due_at, a.contact_id LIMIT $4),
			m AS (
				INSERT INTO messages (dedupe_key, contact_id, template, topic, subject, queue, send_at, campaign_id, enqueued_at, region)
				SELECT 'camp:' || $1 || ':' || d.contact_id, d.contact_id,
					coalesce(nullif(c.ab->'variants'->(d.v::int)->>'template', ''), c.template), c.topic,
					coalesce(nullif(c.ab->'variants'->(d.v::int)->>'subject', ''), c.subject), 'low', d.send_at, $1, $3, k.home_region
				FROM due d JOIN contacts k ON k.id = d.contact_id, campaigns c WHERE c.id = $1
				ON CONFLICT (dedupe_key) DO NOTHING
				RETURNING id, contact_id, region),
			a AS (UPDATE campaign_audience a SET message_id = m.id, dispatched_at = $3
				FROM m WHERE a.campaign_id = $1 AND a.contact_id = m.contact_id)
			SELECT id, region FROM m`, id, dueBy, now, limit)
		if err != nil {
			return fmt.Errorf("dispatch campaign %d: %w", id, err)
		}
		if out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[nurture.Queued]); err != nil {
			return fmt.Errorf("dispatch campaign %d: %w", id, err)
		}
		return nil
	})
	return out, err
}

// FinishCampaign marks a sending campaign sent once its whole audience is
// frozen and every member has its message or was dropped. It reports
// whether it did.
func (db *DB) FinishCampaign(ctx context.Context, id int64, now time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE campaigns SET status = 'sent', finished_at = $2, updated_at = now()
		WHERE id = $1 AND status = 'sending' AND frozen AND NOT EXISTS (
			SELECT 1 FROM campaign_audience WHERE campaign_id = $1 AND message_id IS NULL AND NOT dropped)`, id, now)
	if err != nil {
		return false, fmt.Errorf("finish campaign %d: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

// stopMessages skips a campaign's messages not sent yet, for reason: the
// queued ones at once, those in a worker's hands by the mark its watcher
// looks for every second.
func stopMessages(ctx context.Context, tx pgx.Tx, id int64, reason string) error {
	if _, err := tx.Exec(ctx, `UPDATE messages SET cancel_requested = true WHERE campaign_id = $1 AND status = 'sending'`, id); err != nil {
		return fmt.Errorf("stop campaign %d: %w", id, err)
	}
	rows, err := tx.Query(ctx, `UPDATE messages SET status = 'skipped', last_error = $2, locked_until = NULL, updated_at = now()
		WHERE campaign_id = $1 AND status IN ('queued', 'deferred') RETURNING id`, id, reason)
	if err != nil {
		return fmt.Errorf("stop campaign %d: %w", id, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("stop campaign %d: %w", id, err)
	}
	outcomes := make([]nurture.Outcome, len(ids))
	for i, mid := range ids {
		outcomes[i] = nurture.Outcome{MessageID: mid, Status: nurture.StatusSkipped, Detail: reason}
	}
	return addHistory(ctx, tx, outcomes)
}

// Reasons the fan-out gives the messages it stops.
const (
	ReasonCampaignPaused    = "campaign paused"
	ReasonCampaignCancelled = "campaign cancelled"
	ReasonCampaignEnded     = "campaign ended"
)

// MoveCampaign applies an operator's action, decided by the campaign
// package: from one of the statuses in from to the status to, in one
// transaction with what it means for the campaign's messages. Pausing
// stops them (ReasonCampaignPaused); resuming queues the stopped ones
// again, due now; cancelling stops them for good and drops the members
// not dispatched. A campaign in another status is a conflict.
func (db *DB) MoveCampaign(ctx context.Context, id int64, from []string, to string, now time.Time) (*nurture.Campaign, error) {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		status, err := lockCampaign(ctx, tx, id)
		if err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || f == status
		}
		if !ok {
			return &nurture.Error{Code: nurture.CodeConflict, Field: "status",
				Message: fmt.Sprintf("the campaign is %s: it cannot become %s", status, to)}
		}
		switch to {
		case "paused":
			if err := stopMessages(ctx, tx, id, ReasonCampaignPaused); err != nil {
				return err
			}
		case "cancelled":
			if err := stopMessages(ctx, tx, id, ReasonCampaignCancelled); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE campaign_audience SET dropped = true WHERE campaign_id = $1 AND message_id IS NULL`, id); err != nil {
				return fmt.Errorf("cancel campaign %d: %w", id, err)
			}
		case "scheduled", "sending":
			if status == "paused" {
				// A campaign whose audience froze before it was paused
				// goes on sending; one paused before it started waits
				// for its time again.
				var started bool
				if err := tx.QueryRow(ctx, `SELECT started_at IS NOT NULL FROM campaigns WHERE id = $1`, id).Scan(&started); err != nil {
					return fmt.Errorf("resume campaign %d: %w", id, err)
				}
				if started {
					to = "sending"
				}
				if err := requeueStopped(ctx, tx, id, now); err != nil {
					return err
				}
			}
		}
		_, err = tx.Exec(ctx, `UPDATE campaigns SET status = $2, updated_at = now(),
				finished_at = CASE WHEN $2 = 'cancelled' THEN $3 ELSE finished_at END WHERE id = $1`, id, to, now)
		if err != nil {
			return fmt.Errorf("move campaign %d to %s: %w", id, to, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.Campaign(ctx, id)
}

// requeueStopped queues again, due now, the messages a pause stopped: the
// ones it skipped, and those a worker skipped for its mark.
func requeueStopped(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	rows, err := tx.Query(ctx, `UPDATE messages SET status = 'queued', send_at = $3, enqueued_at = NULL, cancel_requested = false,
			last_error = '', updated_at = now()
		WHERE campaign_id = $1 AND status = 'skipped' AND (last_error = $2 OR (cancel_requested AND last_error = ''))
		RETURNING id`, id, ReasonCampaignPaused, now)
	if err != nil {
		return fmt.Errorf("resume campaign %d: %w", id, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("resume campaign %d: %w", id, err)
	}
	outcomes := make([]nurture.Outcome, len(ids))
	for i, mid := range ids {
		outcomes[i] = nurture.Outcome{MessageID: mid, Status: nurture.StatusQueued, Detail: "campaign resumed"}
	}
	return addHistory(ctx, tx, outcomes)
}

// EndCampaign ends a sending campaign whose end has passed: the members
// not dispatched are dropped, the messages not sent skipped
// (ReasonCampaignEnded), and the campaign is sent.
func (db *DB) EndCampaign(ctx context.Context, id int64, now time.Time) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		status, err := lockCampaign(ctx, tx, id)
		if err != nil || status != "sending" {
			return err
		}
		if err := stopMessages(ctx, tx, id, ReasonCampaignEnded); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaign_audience SET dropped = true WHERE campaign_id = $1 AND message_id IS NULL`, id); err != nil {
			return fmt.Errorf("end campaign %d: %w", id, err)
		}
		_, err = tx.Exec(ctx, `UPDATE campaigns SET status = 'sent', frozen = true, finished_at = $2, updated_at = now() WHERE id = $1`, id, now)
		if err != nil {
			return fmt.Errorf("end campaign %d: %w", id, err)
		}
		return nil
	})
}

// CampaignStats returns a campaign's figures as they stand.
func (db *DB) CampaignStats(ctx context.Context, id int64) (*nurture.CampaignStats, error) {
	s := &nurture.CampaignStats{ByStatus: map[string]int64{}, Skipped: map[string]int64{}, Bounced: map[string]int64{}}
	err := db.pool.QueryRow(ctx, `SELECT count(*), count(message_id), count(*) FILTER (WHERE dropped)
		FROM campaign_audience WHERE campaign_id = $1`, id).Scan(&s.Audience, &s.Dispatched, &s.Dropped)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	rows, err := db.pool.Query(ctx, `SELECT m.status, CASE WHEN m.status = 'skipped' THEN coalesce(nullif(m.last_error, ''), (
			SELECT h.detail FROM message_status_history h WHERE h.message_id = m.id AND h.status = 'skipped' ORDER BY h.id DESC LIMIT 1), '')
			ELSE '' END, count(*)
		FROM messages m WHERE m.campaign_id = $1 GROUP BY 1, 2`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	var status, reason string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &reason, &n}, func() error {
		s.ByStatus[status] += n
		if status == "skipped" {
			s.Skipped[reason] += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	err = db.pool.QueryRow(ctx, `SELECT
			count(DISTINCT m.contact_id) FILTER (WHERE e.kind = 'open' AND e.class = 'human'),
			count(DISTINCT m.contact_id) FILTER (WHERE e.kind = 'open' AND e.class <> 'human'),
			count(DISTINCT m.contact_id) FILTER (WHERE e.kind = 'click' AND e.class = 'human'),
			count(DISTINCT m.contact_id) FILTER (WHERE e.kind = 'click' AND e.class <> 'human')
		FROM messages m JOIN email_events e ON e.message_id = m.id WHERE m.campaign_id = $1`, id).
		Scan(&s.HumanOpens, &s.MachineOpens, &s.HumanClicks, &s.ScanClicks)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	rows, err = db.pool.Query(ctx, `SELECT e.url, count(DISTINCT e.contact_id) FROM messages m JOIN email_events e ON e.message_id = m.id
		WHERE m.campaign_id = $1 AND e.kind = 'click' AND e.class = 'human' AND e.url IS NOT NULL
		GROUP BY e.url ORDER BY 2 DESC, 1 LIMIT 100`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	var link nurture.LinkStats
	_, err = pgx.ForEachRow(rows, []any{&link.URL, &link.HumanClicks}, func() error {
		s.Links = append(s.Links, link)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	// A bounce report marks the message bounced with its kind first
	// (describeBounce): "hard bounce from ses: ...", "complaint from ...".
	rows, err = db.pool.Query(ctx, `SELECT CASE WHEN last_error LIKE 'hard bounce%' THEN 'hard' WHEN last_error LIKE 'soft bounce%' THEN 'soft'
			WHEN last_error LIKE 'complaint%' THEN 'complaint' ELSE 'other' END, count(*)
		FROM messages WHERE campaign_id = $1 AND status = 'bounced' GROUP BY 1`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	var kind string
	_, err = pgx.ForEachRow(rows, []any{&kind, &n}, func() error {
		s.Bounced[kind] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM messages m JOIN topic_optouts o ON o.contact_id = m.contact_id AND o.topic = m.topic
		WHERE m.campaign_id = $1 AND m.sent_at IS NOT NULL AND o.created_at >= m.sent_at`, id).Scan(&s.Unsubscribed)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	rows, err = db.pool.Query(ctx, `SELECT a.bucket, count(*), count(a.message_id), count(*) FILTER (WHERE m.status = 'sent')
		FROM campaign_audience a LEFT JOIN messages m ON m.id = a.message_id
		WHERE a.campaign_id = $1 GROUP BY a.bucket ORDER BY a.bucket`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	var b nurture.BucketStats
	_, err = pgx.ForEachRow(rows, []any{&b.Bucket, &b.Audience, &b.Dispatched, &b.Sent}, func() error {
		s.Buckets = append(s.Buckets, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	return s, nil
}

// ABResults returns what each variant of a campaign's A/B test did so
// far, in the order of its variants: its members, the emails sent, and
// the contacts who opened or clicked, people apart from machines and
// link scanners.
func (db *DB) ABResults(ctx context.Context, id int64, variants int) ([]nurture.VariantResult, error) {
	out := make([]nurture.VariantResult, variants)
	for i := range out {
		out[i].Variant = i
	}
	rows, err := db.pool.Query(ctx, `SELECT a.variant, count(*), count(*) FILTER (WHERE m.status = 'sent'),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.message_id = m.id AND e.kind = 'open' AND e.class = 'human')),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.message_id = m.id AND e.kind = 'click' AND e.class = 'human')),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.message_id = m.id AND e.kind = 'open' AND e.class <> 'human')),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.message_id = m.id AND e.kind = 'click' AND e.class <> 'human'))
		FROM campaign_audience a LEFT JOIN messages m ON m.id = a.message_id
		WHERE a.campaign_id = $1 AND a.variant >= 0 GROUP BY a.variant`, id)
	if err != nil {
		return nil, fmt.Errorf("a/b results: %w", err)
	}
	var r nurture.VariantResult
	_, err = pgx.ForEachRow(rows, []any{&r.Variant, &r.Audience, &r.Sent, &r.HumanOpens, &r.HumanClicks, &r.MachineOpens, &r.ScanClicks}, func() error {
		if r.Variant >= 0 && r.Variant < variants {
			out[r.Variant] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("a/b results: %w", err)
	}
	return out, nil
}

// DecideWinner records an A/B test's winner and the counts it was chosen
// on, once: false when it was decided already.
func (db *DB) DecideWinner(ctx context.Context, id int64, winner int, results []nurture.VariantResult, now time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE campaigns SET winner = $2, decision = $3, decided_at = $4, updated_at = now()
		WHERE id = $1 AND winner IS NULL`, id, winner, results, now)
	if err != nil {
		return false, fmt.Errorf("decide a/b winner: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

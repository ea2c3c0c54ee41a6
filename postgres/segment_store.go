package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nurture-email/nurture"
)

// Saved segments: their rows. What a segment's condition selects is in
// segment.go (the condition compiled to SQL).

const segmentSelect = `SELECT id, name, description, filter, created_at, updated_at FROM segments`

func scanSegment(row pgx.Row) (*nurture.Segment, error) {
	s := &nurture.Segment{}
	if err := row.Scan(&s.ID, &s.Name, &s.Description, &s.Filter, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, err
	}
	c, err := nurture.ParseSegmentFilter(s.Filter)
	if err != nil {
		// Stored filters passed this parser; one that no longer does
		// (the language changed) is shown but selects no one.
		return s, nil
	}
	s.Condition = c
	return s, nil
}

// CreateSegment stores s and fills in its id and times. A name another
// segment has (case ignored) is a conflict.
func (db *DB) CreateSegment(ctx context.Context, s *nurture.Segment) error {
	filter, err := json.Marshal(s.Filter)
	if err != nil {
		return fmt.Errorf("segment %q: %w", s.Name, err)
	}
	err = db.pool.QueryRow(ctx, `INSERT INTO segments (name, description, filter, condition) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at, updated_at`, s.Name, s.Description, json.RawMessage(filter), conditionText(s.Condition)).
		Scan(&s.ID, &s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		return segmentErr(err, s.Name)
	}
	return nil
}

// Segment returns the segment with the given id.
func (db *DB) Segment(ctx context.Context, id int64) (*nurture.Segment, error) {
	s, err := scanSegment(db.pool.QueryRow(ctx, segmentSelect+` WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "segment")
	}
	return s, nil
}

// Segments returns every segment, by name.
func (db *DB) Segments(ctx context.Context) ([]*nurture.Segment, error) {
	rows, err := db.pool.Query(ctx, segmentSelect+` ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*nurture.Segment, error) { return scanSegment(r) })
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	return out, nil
}

// UpdateSegment replaces a segment's name, description and filter.
func (db *DB) UpdateSegment(ctx context.Context, s *nurture.Segment) error {
	filter, err := json.Marshal(s.Filter)
	if err != nil {
		return fmt.Errorf("segment %q: %w", s.Name, err)
	}
	err = db.pool.QueryRow(ctx, `UPDATE segments SET name = $2, description = $3, filter = $4, condition = $5, updated_at = now()
		WHERE id = $1 RETURNING created_at, updated_at`, s.ID, s.Name, s.Description, json.RawMessage(filter), conditionText(s.Condition)).
		Scan(&s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		return segmentErr(notFound(err, "segment"), s.Name)
	}
	return nil
}

// DeleteSegment deletes a segment.
func (db *DB) DeleteSegment(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM segments WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete segment: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return &nurture.Error{Code: nurture.CodeNotFound, Message: "segment not found"}
	}
	return nil
}

func conditionText(c nurture.Condition) string {
	if c == nil {
		return ""
	}
	return c.String()
}

func segmentErr(err error, name string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &nurture.Error{Code: nurture.CodeConflict, Field: "name", Message: fmt.Sprintf("a segment is already called %q", name)}
	}
	var de *nurture.Error
	if errors.As(err, &de) {
		return err
	}
	return fmt.Errorf("segment %q: %w", name, err)
}

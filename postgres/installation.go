package postgres

import (
	"context"
	"fmt"

	"github.com/nurture-email/nurture"
)

// MessageIDs returns how this installation makes and recognises the
// Message-IDs of its mail: with the key made when its database was first
// migrated (migration 00008).
func (db *DB) MessageIDs(ctx context.Context) (nurture.MessageIDs, error) {
	var ids nurture.MessageIDs
	err := db.pool.QueryRow(ctx, `SELECT message_id_key, legacy_message_ids_below FROM installation`).Scan(&ids.Key, &ids.LegacyBelow)
	if err != nil {
		return nurture.MessageIDs{}, fmt.Errorf("read the installation's Message-ID key (is the database migrated?): %w", err)
	}
	return ids, nil
}

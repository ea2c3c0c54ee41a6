package jobs

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// QueueMarker notices that Redis lost the task queue's data: it keeps a key
// next to asynq's, which a FLUSHALL or a restart without persistence takes
// away with them. It also notices a failover (Redis Sentinel promoting a
// replica): the key was replicated and is still there, but writes the old
// primary acknowledged and had not yet passed on (a task just queued) are
// gone. A promoted replica starts a new replication history, so the marker
// remembers the primary's replication id and calls a change a loss.
type QueueMarker struct {
	rdb redis.UniversalClient
	key string

	mu     sync.Mutex
	replID string // the primary's master_replid when last asked
}

// NewQueueMarker returns a QueueMarker on the task queue's Redis.
func NewQueueMarker(rdb redis.UniversalClient) *QueueMarker {
	return &QueueMarker{rdb: rdb, key: queueMarkerKey}
}

// NewSequenceMarker returns a QueueMarker of its own for the sequence
// poller: each asker needs its own marker, since the first to ask after a
// loss puts it back.
func NewSequenceMarker(rdb redis.UniversalClient) *QueueMarker {
	return &QueueMarker{rdb: rdb, key: queueMarkerKey + ":sequences"}
}

// NewEnrichMarker returns a QueueMarker of its own for the enrichment
// poller.
func NewEnrichMarker(rdb redis.UniversalClient) *QueueMarker {
	return &QueueMarker{rdb: rdb, key: queueMarkerKey + ":enrich"}
}

// queueMarkerKey is the marker. It never expires (Redis must run with
// maxmemory-policy noeviction, as asynq requires).
const queueMarkerKey = "nurture:queue:marker"

// Lost reports whether the marker was missing, and puts it back: true on
// the first question after Redis lost its data, and on the very first
// question asked of a new Redis.
//
// It also says true once after the primary changed (a failover, or a
// restart that began a new replication history): a question too many only
// costs the asker one pass that queues again what is due, which task ids
// and fenced claims make harmless.
func (q *QueueMarker) Lost(ctx context.Context) (bool, error) {
	created, err := q.rdb.SetNX(ctx, q.key, "1", 0).Result()
	if err != nil {
		return false, err
	}
	id, err := q.replicationID(ctx)
	if err != nil {
		return false, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	changed := q.replID != "" && id != q.replID
	q.replID = id
	return created || changed, nil
}

// replicationID is the primary's master_replid (INFO replication).
func (q *QueueMarker) replicationID(ctx context.Context) (string, error) {
	info, err := q.rdb.Info(ctx, "replication").Result()
	if err != nil {
		return "", fmt.Errorf("replication id: %w", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_replid:"); ok {
			return v, nil
		}
	}
	return "", nil // a server that does not say: only the key counts
}

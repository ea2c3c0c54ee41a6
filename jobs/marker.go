package jobs

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// QueueMarker notices that Redis lost the task queue's data: it keeps a key
// next to asynq's, which a FLUSHALL or a restart without persistence takes
// away with them.
type QueueMarker struct {
	rdb redis.UniversalClient
	key string
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
func (q *QueueMarker) Lost(ctx context.Context) (bool, error) {
	return q.rdb.SetNX(ctx, q.key, "1", 0).Result()
}

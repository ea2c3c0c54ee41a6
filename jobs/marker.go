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
}

// NewQueueMarker returns a QueueMarker on the task queue's Redis.
func NewQueueMarker(rdb redis.UniversalClient) *QueueMarker { return &QueueMarker{rdb: rdb} }

// queueMarkerKey is the marker. It never expires (Redis must run with
// maxmemory-policy noeviction, as asynq requires).
const queueMarkerKey = "nurture:queue:marker"

// Lost reports whether the marker was missing, and puts it back: true on
// the first question after Redis lost its data, and on the very first
// question asked of a new Redis.
func (q *QueueMarker) Lost(ctx context.Context) (bool, error) {
	return q.rdb.SetNX(ctx, queueMarkerKey, "1", 0).Result()
}

package metrics

import (
	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
)

// WatchQueues exports the task queues' sizes and latency (asynq_queue_size,
// asynq_queue_latency_seconds, asynq_tasks_enqueued_total, ...), asked of
// Redis at each scrape through inspector.
func (r *Registry) WatchQueues(inspector *asynq.Inspector) {
	r.reg.MustRegister(asynqmetrics.NewQueueMetricsCollector(inspector))
}

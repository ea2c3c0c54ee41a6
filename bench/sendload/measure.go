package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nurture-email/nurture/bench/internal/procstat"
)

// cpuReading is the CPU time each measured part has used so far; two
// readings, before and after a run, give the run's share of each.
type cpuReading struct {
	worker, postgres, postgresDB, redis, sink, machine, watchers time.Duration
}

// cpuProbe reads the CPU of the worker, of PostgreSQL, of redis-server and
// of the sink from /proc (the sink's from its /stats), and leaves out the
// PostgreSQL backends serving this tool's own queries (watchers).
type cpuProbe struct {
	workerPIDs []int
	redisPID   int
	db         string
	watchers   []int // backend pids of this tool's connections
}

func (p *cpuProbe) read(sinkCPU time.Duration) cpuReading {
	r := cpuReading{redis: procstat.ProcessCPU(p.redisPID), sink: sinkCPU, machine: procstat.MachineCPU()}
	for _, pid := range p.workerPIDs {
		r.worker += procstat.ProcessCPU(pid)
	}
	r.postgresDB, r.postgres = procstat.PostgresCPU(p.db)
	for _, pid := range p.watchers {
		r.watchers += procstat.ProcessCPU(pid)
	}
	return r
}

// since is the CPU used between reading b and reading r, the tool's own
// queries taken out of PostgreSQL's.
func (r cpuReading) since(b cpuReading) cpuReading {
	d := cpuReading{
		worker: r.worker - b.worker, postgres: r.postgres - b.postgres, postgresDB: r.postgresDB - b.postgresDB,
		redis: r.redis - b.redis, sink: r.sink - b.sink, machine: r.machine - b.machine, watchers: r.watchers - b.watchers,
	}
	d.postgres -= d.watchers
	d.postgresDB -= d.watchers
	return d
}

// engine is the figure: the worker, PostgreSQL and Redis together.
func (r cpuReading) engine() time.Duration { return r.worker + r.postgres + r.redis }

// redisPID asks Redis for its process id (INFO server's process_id).
func redisPID(ctx context.Context, rdb redis.UniversalClient) (int, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	if pid := processIDOf(info); pid > 0 {
		return pid, nil
	}
	return 0, fmt.Errorf("no process_id in Redis's INFO server")
}

// processIDOf reads process_id from the text of Redis's INFO.
func processIDOf(info string) int {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, _ := strconv.Atoi(strings.TrimSpace(v))
			return pid
		}
	}
	return 0
}

// perThousand is a CPU time spent on n emails, in seconds per 1,000.
func perThousand(d time.Duration, n int) float64 {
	return d.Seconds() * 1000 / float64(n)
}

// Package worker runs Nurture's background work: the asynq server with its
// queues, priorities and middleware, the reconciler that moves due work
// from PostgreSQL into the task queue, the other periodic jobs, and the
// leases (Leases) that make each periodic job run in one process at a
// time.
//
// It wires handlers from package jobs to task types; the handlers' logic
// lives in jobs. It knows nothing of HTTP or SQL.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/nurture-email/nurture/jobs"
)

// Config holds what the worker needs.
type Config struct {
	Redis       asynq.RedisConnOpt
	Concurrency int            // tasks run at once; default 10
	Queues      map[string]int // queue priorities; default jobs.QueuePriorities
	// ShutdownTimeout is how long a stop waits for running tasks before it
	// hands them back to the queue. Default 20s.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Handlers maps task types to their handlers.
	Handlers map[string]asynq.Handler
}

// Server processes tasks until its context ends.
type Server struct {
	cfg Config
	srv *asynq.Server
	mux *asynq.ServeMux
	// handlers is the parent context of every task; cancelling it tells the
	// handlers in flight to stop, which asynq itself never does.
	handlers       context.Context
	cancelHandlers context.CancelFunc
	// running counts handlers in flight: asynq stops waiting for a handler
	// once its context ends, but the handler still has bookkeeping to do.
	running sync.WaitGroup
}

// New returns a worker server for cfg.
func New(cfg Config) *Server {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 10
	}
	if cfg.Queues == nil {
		cfg.Queues = jobs.QueuePriorities
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger
	handlers, cancelHandlers := context.WithCancel(context.Background())
	srv := asynq.NewServer(cfg.Redis, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          cfg.Queues,
		ShutdownTimeout: cfg.ShutdownTimeout,
		BaseContext:     func() context.Context { return handlers },
		RetryDelayFunc:  jobs.RetryDelay,
		IsFailure:       jobs.IsFailure,
		Logger:          asynqLogger{log},
		LogLevel:        asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			if !jobs.IsFailure(err) {
				// Handed back to be tried again (interrupted, throttled, held
				// by another attempt, its region busy): no failure, and on a
				// busy relay there are many.
				log.Debug("task handed back", "type", t.Type(), "task_id", id, "err", err)
				return
			}
			log.Warn("task failed", "type", t.Type(), "task_id", id, "retried", retried, "err", err)
		}),
	})
	s := &Server{cfg: cfg, srv: srv, handlers: handlers, cancelHandlers: cancelHandlers}
	s.mux = asynq.NewServeMux()
	s.mux.Use(s.track, recoverPanics(log))
	for typ, h := range cfg.Handlers {
		s.mux.Handle(typ, h)
	}
	return s
}

// track counts the handler in flight until it returns.
func (s *Server) track(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		s.running.Add(1)
		defer s.running.Done()
		return next.ProcessTask(ctx, t)
	})
}

// Run processes tasks until ctx is cancelled, then stops taking work and
// gives running tasks ShutdownTimeout to finish. Shortly before that time is
// up it cancels the tasks still running: they record where they stopped and
// hand themselves back to the queue (delivery.ErrInterrupted), so that asynq
// never requeues a task whose handler is still running, which could send an
// email twice.
func (s *Server) Run(ctx context.Context) error {
	defer s.cancelHandlers()
	if err := s.srv.Start(s.mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	s.cfg.Logger.Info("worker started", "concurrency", s.cfg.Concurrency, "queues", s.cfg.Queues)
	<-ctx.Done()
	s.srv.Stop() // stop taking new tasks
	margin := min(s.cfg.ShutdownTimeout/4, 2*time.Second)
	interrupt := time.AfterFunc(s.cfg.ShutdownTimeout-margin, s.cancelHandlers)
	defer interrupt.Stop()
	s.srv.Shutdown()
	s.cancelHandlers()
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cfg.Logger.Error("task handlers still running 10s after shutdown; their messages are released when their lease expires")
	}
	s.cfg.Logger.Info("worker stopped")
	return nil
}

// recoverPanics turns a handler's panic into an error, so that the task is
// retried and the worker keeps running.
func recoverPanics(log *slog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error("panic in task handler", "type", t.Type(), "panic", r)
					err = errors.New("panic in task handler")
				}
			}()
			return next.ProcessTask(ctx, t)
		})
	}
}

// asynqLogger routes asynq's own logs into slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Fatal(args ...any) { l.log.Error(fmt.Sprint(args...), "component", "asynq") }

// poll runs pass every interval until ctx ends, and logs what a pass
// returns as an error (a pass that fails leaves its work for the next).
// Every periodic job of this package runs on it: under its lease when
// leases is set (one process at a time runs job), in this process alone
// otherwise.
func poll(ctx context.Context, leases *Leases, job string, interval time.Duration, log *slog.Logger, what string, pass func(context.Context) error) {
	if leases != nil {
		leases.run(ctx, job, interval, what, pass)
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package ratelimit_test

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nurture-email/nurture/internal/ratelimit"
)

// The API limits each API key and answers 429 with Retry-After in whole
// seconds, rounded up so that a polite client never comes back too early.
func ExampleLimiter_Allow() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	limiter := ratelimit.New(rdb, "nurture:rl:")
	perKey := ratelimit.Limit{Rate: 1000, Burst: 2000}

	limit := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := limiter.Allow(r.Context(), "api:"+apiKeyID(r), perKey)
			if err != nil {
				// A choice: Redis being down should not take the API down.
				slog.ErrorContext(r.Context(), "rate limit", "err", err)
				next.ServeHTTP(w, r)
				return
			}
			if !res.Allowed {
				secs := int(math.Ceil(res.RetryAfter.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				http.Error(w, "too many requests", http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux() // the API's routes
	log.Fatal(http.ListenAndServe(":8080", limit(mux)))
}

// apiKeyID stands for the id that authentication found: the key's id, never
// the secret itself, which must not end up in Redis.
func apiKeyID(r *http.Request) string { return r.Header.Get("X-Example-Key-Id") }

// The mail workers share one sending rate per relay. When the relay answers
// 421 or 454, they pass a lower Rate, and the shared bucket slows at once.
func ExampleLimiter_Allow_relay() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	limiter := ratelimit.New(rdb, "nurture:rl:")
	relay := ratelimit.Limit{Rate: 50, Burst: 50}

	// wait blocks until the relay may take one more message.
	wait := func(ctx context.Context) error {
		for {
			res, err := limiter.Allow(ctx, "relay:smtp.example.com", relay)
			if err != nil || res.Allowed {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(res.RetryAfter):
			}
		}
	}

	for range 3 {
		if err := wait(ctx); err != nil {
			return
		}
		if errors.Is(send(), errSlowDown) {
			relay.Rate = max(relay.Rate/2, 1)
		}
	}
}

var errSlowDown = errors.New("421 4.7.0 slow down")

// send stands for handing one message to the relay.
func send() error { return nil }

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/config"
)

// demoSignUps are the sample people the demo command reports.
var demoSignUps = []map[string]any{
	{"email": "ada@analytical.example", "firstName": "Ada", "lastName": "Lovelace", "company": "Analytical Engines", "role": "Engineering", "teamSize": "11-50", "timezone": "Europe/London"},
	{"email": "grace@cobol.example", "firstName": "Grace", "lastName": "Hopper", "company": "Compiler Co", "role": "Founder", "teamSize": "51-200", "timezone": "America/New_York"},
	{"email": "katherine@orbit.example", "firstName": "Katherine", "company": "Orbit Labs", "industry": "Aerospace", "timezone": "America/Chicago"},
	{"email": "someone@unknown.example"},
}

// demo reports the sample sign-ups to a running API, as a product would:
// identify, then track signed_up. Message ids are fixed, so running it again
// sends no second welcome email.
func demo(ctx context.Context, cfg *config.Config, logger *slog.Logger, stdout io.Writer) error {
	if err := waitReady(ctx, cfg.APIURL+"/readyz", time.Minute); err != nil {
		return err
	}
	// The demo makes its own ingest key, as an operator would with
	// `nurture apikey create`.
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	key, err := createAPIKey(ctx, store, "demo", []nurture.Scope{nurture.ScopeIngest})
	closeStore()
	if err != nil {
		return err
	}
	for i, traits := range demoSignUps {
		userID := fmt.Sprintf("demo-user-%d", i+1)
		calls := []struct {
			path string
			body map[string]any
		}{
			{"/v1/identify", map[string]any{"userId": userID, "traits": traits, "messageId": userID + "-identify"}},
			{"/v1/track", map[string]any{"userId": userID, "event": "signed_up", "messageId": userID + "-signed-up"}},
		}
		for _, c := range calls {
			if err := postJSON(ctx, cfg.APIURL+c.path, key, c.body); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "reported sign-up of %s (%s)\n", userID, traits["email"])
	}
	// And a key to sign in to the console with, as an operator would make
	// with `nurture apikey create --scopes admin`.
	store, closeStore, err = openStore(ctx, cfg)
	if err != nil {
		return err
	}
	admin, err := createAPIKey(ctx, store, "console (demo)", []nurture.Scope{nurture.ScopeAdmin})
	closeStore()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the console is at /admin on the API (http://localhost:8080/admin with docker compose); sign in with the admin key %s\n", admin)
	logger.Info("demo done: welcome emails are on their way", "sign_ups", len(demoSignUps))
	return nil
}

func postJSON(ctx context.Context, url, key string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// waitReady polls url until it answers 200 or patience runs out.
func waitReady(ctx context.Context, url string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		err := healthcheck(ctx, url)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API not ready after %s: %w", patience, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/postgres"
)

func TestTemplatesCheck(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	require.Equal(t, 0, run(context.Background(), []string{"templates", "check"}, noEnv, &out, io.Discard))
	require.Contains(t, out.String(), "12 templates render")

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "mail"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mail", "_layout.html"), []byte(`{{define "layout"}}<html><body>{{template "body" .}}</body></html>{{end}}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mail", "broken.html"),
		[]byte(`{{define "subject"}}Hi {{.Contact.Nope}}{{end}}{{define "topic"}}onboarding{{end}}{{define "body"}}x{{end}}`), 0o600))
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"templates", "check", "--templates-dir", dir}, noEnv, io.Discard, &errOut)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut.String(), "broken")
}

func TestTemplatePreviewCLIAndAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start("api")
	e.waitReady()
	e.mustPost("/v1/identify", map[string]any{"userId": "u-prev", "traits": map[string]any{"email": "prev@example.com", "firstName": "Grace", "company": "Compiler Co"}})

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"templates", "preview", "welcome", "--email", "prev@example.com"},
		func(k string) string { return e.env[k] }, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "Subject: ")
	require.Contains(t, out.String(), "Grace")
	require.Contains(t, out.String(), "Compiler Co")

	admin, err := createAPIKey(context.Background(), postgres.New(e.pool), "ops", []nurture.Scope{nurture.ScopeAdmin})
	require.NoError(t, err)
	c, err := postgres.New(e.pool).ContactByEmail(context.Background(), "prev@example.com")
	require.NoError(t, err)
	get := func(path string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, e.apiURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}
	status, body := get("/v1/templates/welcome/preview?contact_id=" + itoa(c.ID))
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body["subject"], "Grace")
	require.Equal(t, "onboarding", body["topic"])
	require.Contains(t, body["html"], "Compiler Co")

	status, body = get("/v1/templates/nope/preview?contact_id=" + itoa(c.ID))
	require.Equal(t, http.StatusNotFound, status, body)
	status, body = get("/v1/templates/welcome/preview")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "contact_id", body["error"].(map[string]any)["field"])

	// Once the contact belongs to a company, both show its record, as the
	// send path does.
	e.mustPost("/v1/group", map[string]any{"userId": "u-prev", "groupId": "g-compilers", "traits": map[string]any{"name": "Compilers Inc", "industry": "Manufacturing"}})
	out.Reset()
	code = run(context.Background(), []string{"templates", "preview", "feature-integrations", "--email", "prev@example.com"},
		func(k string) string { return e.env[k] }, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, strings.Join(strings.Fields(out.String()), " "), "Teams in Manufacturing like yours")
	require.Contains(t, out.String(), "Compilers Inc")
	status, body = get("/v1/templates/feature-integrations/preview?contact_id=" + itoa(c.ID))
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body["html"], "Teams in Manufacturing like yours")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// `templates check` says when recipient links would be plain http, and
// still passes: the templates themselves are fine.
func TestTemplatesCheckWarnsOfPlainHTTPLinks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		publicURL string
		warns     bool
	}{
		{"http://links.example.com", true},
		{"HTTP://links.example.com", true},
		{"", true}, // the default, http://localhost:8080
		{"https://links.example.com", false},
	} {
		var out, errOut bytes.Buffer
		env := map[string]string{"NURTURE_PUBLIC_URL": tt.publicURL}
		code := run(context.Background(), []string{"templates", "check"}, func(k string) string { return env[k] }, &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		require.Contains(t, out.String(), "12 templates render")
		if !tt.warns {
			require.Empty(t, errOut.String(), tt.publicURL)
			continue
		}
		lines := strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n")
		require.Len(t, lines, 1, "one line: %q", errOut.String())
		require.Contains(t, lines[0], "warning: NURTURE_PUBLIC_URL is http, not https")
		require.Contains(t, lines[0], "RFC 8058")
		want := tt.publicURL
		if want == "" {
			want = "http://localhost:8080"
		}
		require.Contains(t, lines[0], "(it is "+want+")")
	}
}

// templatesWithoutWelcome writes a templates directory that loads, with
// one email, but not the welcome email the onboarding sequence sends on
// every sign-up.
func templatesWithoutWelcome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "mail"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mail", "_layout.html"),
		[]byte(`{{define "layout"}}<html><body>{{template "body" .}}</body></html>{{end}}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mail", "newsletter.html"),
		[]byte(`{{define "subject"}}News{{end}}{{define "topic"}}marketing{{end}}{{define "body"}}<p>News</p>{{end}}`), 0o600))
	return dir
}

// A templates directory without a template the sequences send stops each
// command that serves or sends before it starts, in one line naming the
// template, the sequence file and the directory. It used to start, and
// every sign-up's email then failed at send time.
func TestStartRefusesTemplatesWithoutWelcome(t *testing.T) {
	t.Parallel()
	dir := templatesWithoutWelcome(t)
	for _, command := range []string{"api", "worker", "all"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.env["NURTURE_TEMPLATES_DIR"] = dir
			e.env["NURTURE_PUBLIC_URL"] = "https://links.acme.example" // no warning line
			// Old code started and served until the context ended: the
			// deadline only bounds a failing run.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			code := run(ctx, []string{command}, func(k string) string { return e.env[k] }, io.Discard, &stderr)
			require.Equal(t, 1, code, stderr.String())
			out := strings.TrimRight(stderr.String(), "\n")
			require.NotContains(t, out, "\n", "one line: %q", out)
			for _, want := range []string{"NURTURE_TEMPLATES_DIR: " + dir, "unknown template", "welcome", "onboarding.yaml:31"} {
				require.Contains(t, out, want)
			}
			require.NoError(t, ctx.Err(), "it stopped at start, not at the deadline")
		})
	}
}

func TestTemplatesCheckNamesATemplateTheSequencesLack(t *testing.T) {
	t.Parallel()
	dir := templatesWithoutWelcome(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"templates", "check", "--templates-dir", dir}, func(string) string { return "" }, &out, &errOut)
	require.Equal(t, 1, code, errOut.String())
	require.Contains(t, errOut.String(), "the built-in sequences do not fit NURTURE_TEMPLATES_DIR: "+dir)
	require.Contains(t, errOut.String(), `onboarding.yaml:`)
	require.Contains(t, errOut.String(), `onboarding.yaml:31:17: steps[0].send.template: unknown template "welcome"`)
	require.Empty(t, out.String())
}

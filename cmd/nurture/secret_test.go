package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/config"
)

// runNurture runs the binary's run function with env, returning its exit
// code, stdout and stderr.
func runNurture(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// `nurture secret` prints a secret that a non-dev start accepts, new each time.
func TestSecretCommandPrintsAGoodSecret(t *testing.T) {
	t.Parallel()
	code, a, _ := runNurture(t, nil, "secret")
	require.Zero(t, code)
	_, b, _ := runNurture(t, nil, "secret")
	require.True(t, strings.HasSuffix(a, "\n") && strings.Count(a, "\n") == 1, "one line: %q", a)
	require.NoError(t, config.CheckSecret(strings.TrimSpace(a)))
	require.NotEqual(t, a, b)
}

// With NURTURE_SECRET_FILE, `nurture secret` writes a secret the engine then
// reads from that file, and keeps it on later runs (a container restarting).
func TestSecretCommandFillsTheSecretFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret")
	env := map[string]string{"NURTURE_SECRET_FILE": path}

	code, out, logs := runNurture(t, env, "secret")
	require.Zero(t, code, logs)
	require.Empty(t, out, "a secret written to a file is not printed")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "readable by its owner only")
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, logs, strings.TrimSpace(string(first)))

	code, _, logs = runNurture(t, env, "secret")
	require.Zero(t, code, logs)
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, first, again, "a secret in place is kept")

	// The erasure key is written the same way, to a file of its own.
	keyPath := filepath.Join(t.TempDir(), "erasure-key")
	code, _, logs = runNurture(t, map[string]string{"NURTURE_SECRET_FILE": keyPath}, "secret")
	require.Zero(t, code, logs)
	env["NURTURE_ERASURE_KEY_FILE"] = keyPath

	cfg, err := config.Load(mustCommand(t, "api"), nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(string(first)), cfg.Secret)
	require.NotEqual(t, cfg.Secret, cfg.ErasureKey)
}

func TestSecretCommandLeavesOtherFilesAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		code          int
		kept          bool
	}{
		{name: "empty: an unfinished write", content: "", code: 0},
		{name: "white space only", content: "\n", code: 0},
		{name: "a weak secret", content: strings.Repeat("a", 40) + "\n", code: 1, kept: true},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
		code, _, logs := runNurture(t, map[string]string{"NURTURE_SECRET_FILE": path}, "secret")
		require.Equal(t, tc.code, code, "%s: %s", tc.name, logs)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		if tc.kept {
			require.Equal(t, tc.content, string(got), tc.name)
			require.Contains(t, logs, "NURTURE_SECRET_FILE", tc.name)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(logs), "\n")+1, "one line: %q", logs)
			continue
		}
		require.NoError(t, config.CheckSecret(strings.TrimSpace(string(got))), tc.name)
	}
}

func mustCommand(t *testing.T, name string) config.Command {
	t.Helper()
	cmd, ok := config.LookupCommand(name)
	require.True(t, ok, name)
	return cmd
}

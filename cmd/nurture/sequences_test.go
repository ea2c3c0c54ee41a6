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
)

// TestSequencesValidateBuiltIn: the starters pass against the built-in
// templates.
func TestSequencesValidateBuiltIn(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"sequences", "validate"}, func(string) string { return "" }, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "2 sequences (built-in) valid against 12 templates")
	require.Contains(t, out.String(), "onboarding ")
	require.Contains(t, out.String(), "feature-lessons ")
}

// brokenSequences are files of a sequences directory, one per kind of
// mistake, and the line validate must print for each (after the
// directory).
var brokenSequences = []struct{ file, src, want string }{
	{"unknown-template.yaml", "id: a\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps:\n  - {id: hi, send: welcom}\n",
		`unknown-template.yaml:5:20: steps[0].send: unknown template "welcom" (did you mean welcome?)`},
	{"unknown-step.yaml", "id: b\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps:\n  - {id: hi, send: welcome, next: bye}\n",
		`unknown-step.yaml:5:35: steps[0].next: unknown step "bye"`},
	{"event-operator.yaml", "id: c\ntopic: onboarding\ntrigger: {event: signed_up}\nexit:\n  if: {did: {event: x, times: 3}}\nsteps:\n  - {id: hi, send: welcome}\n",
		`event-operator.yaml:5:31: exit.if.did.times: unknown key "times" of did`},
	{"trait-operator.yaml", "id: d\ntopic: onboarding\ntrigger: {condition: {traits.plan: {is: trial}}}\nsteps:\n  - {id: hi, send: welcome}\n",
		`trait-operator.yaml:3:41: trigger.condition.traits.plan.is: unknown operator "is"`},
	{"loop.yaml", "id: e\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps:\n  - {id: hi, send: welcome}\n  - {id: again, branch: {if: did x, else: hi}}\n",
		`loop.yaml:5:5: steps[0]: the steps hi → again → hi loop without a wait`},
	{"duration.yaml", "id: f\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps:\n  - {id: pause, wait: 1 week}\n",
		`duration.yaml:5:23: steps[0].wait: "1 week" is not a duration`},
	{"topic.yaml", "id: g\ntopic: education\ntrigger: {event: signed_up}\nsteps:\n  - {id: hi, send: welcome}\n",
		`topic.yaml:5:20: steps[0].send: template "welcome" is about onboarding, not education (the sequence's topic)`},
	{"duplicate-step.yaml", "id: h\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps:\n  - {id: hi, send: welcome}\n  - {id: hi, send: check-in}\n",
		`duplicate-step.yaml:6:5: steps[1].id: step id "hi" is already the id of steps[0]`},
	{"z-duplicate-sequence.yaml", "id: a\ntopic: onboarding\ntrigger: {event: x}\nsteps:\n  - {id: hi, send: welcome}\n",
		`z-duplicate-sequence.yaml:1:5: id: sequence "a" is already defined in unknown-template.yaml`},
}

// TestSequencesValidateBroken: every mistake of every file is listed with
// its file and line, and validate exits 1.
func TestSequencesValidateBroken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, b := range brokenSequences {
		require.NoError(t, os.WriteFile(filepath.Join(dir, b.file), []byte(b.src), 0o600))
	}
	// The first file is valid once its template is fixed: a's id then
	// clashes with z-duplicate-sequence.yaml's.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "unknown-template.yaml"),
		[]byte(strings.Replace(brokenSequences[0].src, "welcom}", "welcome}", 1)), 0o600))
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"sequences", "validate", dir}, func(string) string { return "" }, &out, &errOut)
	require.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, len(brokenSequences)-1+1, errOut.String()) // one per file but the fixed one, and the count
	require.Equal(t, "8 errors", lines[len(lines)-1])
	for _, b := range brokenSequences[1:] {
		require.Contains(t, errOut.String(), filepath.Join(dir, b.want), "for %s", b.file)
	}
	require.Empty(t, out.String())
}

// TestSequencesValidateSettings: NURTURE_SEQUENCES_DIR is read when no
// directory is given, and the templates in use are NURTURE_TEMPLATES_DIR's.
func TestSequencesValidateSettings(t *testing.T) {
	t.Parallel()
	seqDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(seqDir, "hello.yaml"),
		[]byte("id: hello\ntopic: onboarding\ntrigger: {event: signed_up}\nsteps:\n  - {id: hi, send: welcome}\n"), 0o600))
	env := map[string]string{"NURTURE_SEQUENCES_DIR": seqDir}
	getenv := func(k string) string { return env[k] }

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"sequences", "validate"}, getenv, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "1 sequence ("+seqDir+") valid")

	// Templates of their own, without a welcome: the sequence names one.
	tmplDir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(tmplDir, "mail"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(tmplDir, "mail", "_layout.html"), []byte(`{{define "layout"}}<html><body>{{template "body" .}}</body></html>{{end}}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(tmplDir, "mail", "hello.html"),
		[]byte(`{{define "subject"}}Hi{{end}}{{define "topic"}}onboarding{{end}}{{define "body"}}x{{end}}`), 0o600))
	env["NURTURE_TEMPLATES_DIR"] = tmplDir
	errOut.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"sequences", "validate"}, getenv, io.Discard, &errOut))
	require.Contains(t, errOut.String(), filepath.Join(seqDir, "hello.yaml")+`:5:20: steps[0].send: unknown template "welcome"`)

	errOut.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"sequences", "validate", filepath.Join(seqDir, "nope")}, getenv, io.Discard, &errOut))
	require.Contains(t, errOut.String(), "nope: no such directory")
	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"sequences", "check"}, getenv, io.Discard, &errOut))
	require.Contains(t, errOut.String(), `unknown action "check"`)
}

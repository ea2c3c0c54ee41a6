package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// runSequences serves `nurture sequences validate [DIR]`, which checks the
// sequence files of DIR, NURTURE_SEQUENCES_DIR or the built-in ones
// against the templates in use and lists every mistake with its file and
// line, and `nurture sequences simulate` (simulate.go).
func runSequences(ctx context.Context, cmd config.Command, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		config.PrintUsage(stderr, cmd)
		return 2
	}
	action, rest := args[0], args[1:]
	switch action {
	case "validate":
	case "simulate":
		return runSimulate(ctx, cmd, rest, getenv, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "nurture sequences: unknown action %q (validate or simulate)\n", action)
		return 2
	}
	var dir string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		dir, rest = rest[0], rest[1:]
	}
	cfg, err := config.Load(cmd, rest, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences validate: %v\n", err)
		return 2
	}
	origin := dir
	if dir == "" {
		dir, origin = cfg.SequencesDir, "NURTURE_SEQUENCES_DIR "+cfg.SequencesDir
	}
	tmpl, err := loadTemplates(cfg.TemplatesDir)
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences validate: the templates do not load, so the sequences cannot be checked against them:\n%v\n", err)
		return 1
	}
	set, err := loadSequences(dir, tmpl)
	var es sequence.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if dir != "" {
				e.File = filepath.Join(dir, e.File)
			}
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "%d %s\n", len(es), nounFor(len(es), "error", "errors"))
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences validate: %s: %v\n", origin, err)
		return 1
	}
	where := "built-in"
	if dir != "" {
		where = dir
	}
	all := set.All()
	fmt.Fprintf(stdout, "%d %s (%s) valid against %d templates\n", len(all), nounFor(len(all), "sequence", "sequences"), where, len(tmpl.Names()))
	for _, s := range all {
		fmt.Fprintf(stdout, "  %-20s version %s  %2d steps  topic %-10s %s\n", s.ID, s.Version, len(s.Steps), s.Topic, s.File)
	}
	return 0
}

// loadSequences reads the sequences of dir, or the built-in ones when dir
// is empty, and checks them against tmpl. The mistakes of the files are
// sequence.Errors; an error of another kind is about dir itself, and the
// caller names where dir came from.
func loadSequences(dir string, tmpl sequence.Templates) (*sequence.Set, error) {
	if dir == "" {
		return sequence.Load(templates.Sequences(), tmpl)
	}
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("no such directory")
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, errors.New("not a directory")
	}
	return sequence.Load(os.DirFS(dir), tmpl)
}

func nounFor(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

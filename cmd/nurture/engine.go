package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// serviceSequences are the sequences the api and the worker run with, and
// the text of each one's file (kept with its version, so that contacts in
// flight stay on it after the file changes).
type serviceSequences struct {
	set     *sequence.Set
	sources map[string][]byte
}

// loadServiceSequences loads the sequences of NURTURE_SEQUENCES_DIR (or the
// built-in ones) and checks them against the templates in use: a start
// whose sequences name a template that does not exist stops here, in one
// line, rather than failing the emails one by one.
func loadServiceSequences(cfg *config.Config, tmpl *templates.Set) (*serviceSequences, error) {
	set, err := loadSequences(cfg.SequencesDir, tmpl)
	if err != nil {
		return nil, sequencesError(err, cfg.SequencesDir, cfg.TemplatesDir)
	}
	fsys := templates.Sequences()
	if cfg.SequencesDir != "" {
		fsys = os.DirFS(cfg.SequencesDir)
	}
	out := &serviceSequences{set: set, sources: map[string][]byte{}}
	for _, s := range set.All() {
		src, err := fs.ReadFile(fsys, s.File)
		if err != nil {
			return nil, fmt.Errorf("NURTURE_SEQUENCES_DIR: %w", err)
		}
		out.sources[s.ID] = src
	}
	return out, nil
}

// sequencesError says in one line what is wrong with the sequences, and
// where they and the templates were read from.
func sequencesError(err error, seqDir, tmplDir string) error {
	where := "the built-in sequences"
	if seqDir != "" {
		where = "NURTURE_SEQUENCES_DIR: " + seqDir
	}
	var es sequence.Errors
	if !errors.As(err, &es) {
		return fmt.Errorf("%s: %w", where, err)
	}
	against := "the built-in templates"
	if tmplDir != "" {
		against = "NURTURE_TEMPLATES_DIR: " + tmplDir
	}
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return fmt.Errorf("%s do not fit %s (nurture sequences validate lists every mistake): %s", where, against, strings.Join(lines, "; "))
}

// engineConfig is what the sequence engine takes from the settings.
func engineSettings(cfg *config.Config) (*time.Location, sequence.Window, error) {
	zone, err := time.LoadLocation(cfg.DefaultTimezone)
	if err != nil {
		return nil, sequence.Window{}, fmt.Errorf("NURTURE_DEFAULT_TIMEZONE: %w", err)
	}
	return zone, sequence.Window{Days: cfg.SendWindowDays, From: cfg.SendWindowFrom, To: cfg.SendWindowTo}, nil
}

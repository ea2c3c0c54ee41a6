package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/config"
)

// enrichTimeout bounds one run of the command: the fetcher's own limits
// (10 s a request, one request per second per domain: robots.txt, the
// home page and an about page) fit well inside it.
const enrichTimeout = time.Minute

// enrichOptions are the command's test hooks; production passes the zero
// value. Tests point the fetcher at a local DNS server and a loopback
// guard, and the site at a local server's port, without any global state.
type enrichOptions struct {
	// fetch is the fetcher's configuration before the settings apply
	// (the contact URL comes from NURTURE_ENRICH_CONTACT_URL).
	fetch enrich.FetchConfig
	// siteURL is enrich.Site.URLFor (nil: https://domain/).
	siteURL func(domain string) string
	clock   nurture.Clock
}

// runEnrich serves `nurture enrich --email E [--title T] [--json]`: the
// research of one address, now, through the production fetcher, printed
// with where each field came from. It stores nothing and needs neither
// PostgreSQL nor Redis. Exit codes: 0 when research ran (ok, partial, or
// skipped because the address names no employer), 1 when no source could
// be read, 2 for a missing or malformed address.
func runEnrich(ctx context.Context, cmd config.Command, args []string, getenv func(string) string, stdout, stderr io.Writer, opts enrichOptions) int {
	var email, title string
	var asJSON bool
	cfg, err := config.LoadWith(cmd, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the work address whose company to research")
		fs.StringVar(&title, "title", "", "the person's job title, for department and seniority")
		fs.BoolVar(&asJSON, "json", false, "print the profile as JSON")
	})
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture enrich: %v\n", err)
		return 2
	}
	if strings.TrimSpace(email) == "" {
		fmt.Fprintln(stderr, "nurture enrich: --email is required: nurture enrich --email ada@acme.com [--title T] [--json]")
		return 2
	}
	// An address that is not one is a mistake on the command line; one
	// that names no employer (gmail.com) is an answer, printed below.
	if _, refused := enrich.WorkDomain(email); refused == enrich.RefusedUnparsable || refused == enrich.RefusedTooLong || refused == enrich.RefusedInvalidDomain {
		fmt.Fprintf(stderr, "nurture enrich: --email %q: %s, want an address such as ada@acme.com\n", clipRunes(email, 80), strings.ReplaceAll(refused, "_", " "))
		return 2
	}

	fc := opts.fetch
	if opts.clock != nil {
		fc.Clock = opts.clock
	}
	sources, err := researchSources(cfg, fc, opts.siteURL, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "nurture enrich: %v\n", err)
		return 2
	}
	researcher := enrich.NewResearcher(opts.clock, sources...)

	ctx, cancel := context.WithTimeout(ctx, enrichTimeout)
	defer cancel()
	p := researcher.Research(ctx, email, title)

	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			fmt.Fprintf(stderr, "nurture enrich: %v\n", err)
			return 1
		}
	} else {
		printProfile(stdout, p)
	}
	if p.Status == enrich.StatusUnavailable {
		return 1
	}
	return 0
}

// printProfile writes a profile for people: a line of status, a table of
// field, value, source and method, then how each source went.
func printProfile(w io.Writer, p enrich.Profile) {
	switch {
	case p.Domain == "":
		fmt.Fprintf(w, "%s: %s (%s): nothing was fetched\n", p.Email, p.Status, p.Reason)
	case p.Reason != "":
		fmt.Fprintf(w, "%s: researched %s: %s (%s)\n", p.Email, p.Domain, p.Status, p.Reason)
	default:
		fmt.Fprintf(w, "%s: researched %s: %s\n", p.Email, p.Domain, p.Status)
	}
	if len(p.Fields) == 0 {
		fmt.Fprintln(w, "\nNothing found.")
	} else {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FIELD\tVALUE\tSOURCE\tMETHOD")
		for _, f := range p.Fields {
			v := f.Value
			if f.Confidence > 0 {
				v = fmt.Sprintf("%s (confidence %.2f)", v, f.Confidence)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Field, oneLine(v, 80), oneLine(f.Source, 100), f.Method)
		}
		_ = tw.Flush()
	}
	if len(p.Sources) > 0 {
		fmt.Fprintln(w, "\nSources:")
		for _, s := range p.Sources {
			line := fmt.Sprintf("  %-8s %s, %d %s", s.Source, s.Status, s.Findings, nounFor(s.Findings, "finding", "findings"))
			if s.Reason != "" {
				line += ": " + oneLine(s.Reason, 200)
			}
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w, "\nNothing was stored.")
}

// oneLine keeps a value from outside (a page's text, a DNS record, a
// provider's answer) on one line of the table and within n runes, with
// its control characters made spaces: a hostile site must not be able to
// send escape sequences to the operator's terminal.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return clipRunes(strings.Join(strings.Fields(s), " "), n)
}

func clipRunes(s string, n int) string {
	r := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

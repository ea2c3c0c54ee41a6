package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/internal/config"
)

// runSimulate serves `nurture sequences simulate ID --contact C [--events
// FILE] [--until 30d] [--json]`: the timeline the contact would get from
// the sequence, on the real data and a virtual clock starting now, with
// the events of FILE assumed. It reads the database and writes nothing.
func runSimulate(ctx context.Context, cmd config.Command, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	var contact, eventsFile, until string
	var asJSON bool
	cfg, err := config.LoadWith(cmd, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&contact, "contact", "", "the contact: the product's userId, an email address, or Nurture's id")
		fs.StringVar(&eventsFile, "events", "", "a file of events to assume: JSON lines or an array of {event, at|after, properties}")
		fs.StringVar(&until, "until", "30d", "how long to simulate, from now")
		fs.BoolVar(&asJSON, "json", false, "print the timeline as JSON, as POST /v1/sequences/{id}/simulate answers it")
	})
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", err)
		return 2
	}
	if id == "" || contact == "" {
		fmt.Fprintln(stderr, "nurture sequences simulate: name the sequence and the contact: sequences simulate ID --contact C [--events FILE] [--until 30d]")
		return 2
	}
	span, err := nurture.ParseDuration(until)
	if err == nil && span > api.MaxSimulation {
		err = fmt.Errorf("simulate at most %d days", api.MaxSimulation/(24*time.Hour))
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: --until: %v\n", err)
		return 2
	}
	start := time.Now().UTC()
	var events []api.HypotheticalEvent
	if eventsFile != "" {
		data, err := os.ReadFile(eventsFile)
		if err != nil {
			fmt.Fprintf(stderr, "nurture sequences simulate: --events: %v\n", err)
			return 2
		}
		if events, err = api.ParseHypotheticalEvents(data, start); err != nil {
			fmt.Fprintf(stderr, "nurture sequences simulate: %s: %v\n", eventsFile, err)
			return 2
		}
	}

	tmpl, err := loadTemplates(cfg.TemplatesDir)
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", err)
		return 1
	}
	set, err := loadSequences(cfg.SequencesDir, tmpl)
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", sequencesError(err, cfg.SequencesDir, cfg.TemplatesDir))
		return 1
	}
	seq, ok := set.Get(id)
	if !ok {
		var ids []string
		for _, s := range set.All() {
			ids = append(ids, s.ID)
		}
		fmt.Fprintf(stderr, "nurture sequences simulate: no sequence %q (there are: %s)\n", id, strings.Join(ids, ", "))
		return 1
	}
	zone, window, err := engineSettings(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", err)
		return 2
	}

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", err)
		return 1
	}
	defer closeStore()
	sim := &api.Simulator{Store: store, DefaultZone: zone, Window: window, Cap: cfg.FrequencyCap}
	tl, err := sim.Run(ctx, api.Simulation{Sequence: seq, Contact: contact, Events: events, Start: start, For: span})
	if err != nil {
		fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(tl); err != nil {
			fmt.Fprintf(stderr, "nurture sequences simulate: %v\n", err)
			return 1
		}
		return 0
	}
	printTimeline(stdout, tl, until)
	return 0
}

// printTimeline writes a timeline for people: one line per moment, local
// times first, with the reasons of each email under it.
func printTimeline(w io.Writer, tl *api.Timeline, span string) {
	who := fmt.Sprintf("contact %d", tl.Contact.ID)
	if names := nonEmpty(tl.Contact.UserID, tl.Contact.Email); len(names) > 0 {
		who += " (" + strings.Join(names, ", ") + ")"
	}
	zone, _ := time.LoadLocation(tl.Zone)
	if zone == nil {
		zone = time.UTC
	}
	fmt.Fprintf(w, "%s, version %s, for %s\n", tl.Sequence, tl.Version, who)
	fmt.Fprintf(w, "time zone %s (%s); from %s for %s; %s\n\n", tl.Zone, tl.ZoneFrom,
		tl.Start.In(zone).Format("Mon 2006-01-02 15:04 MST"), span, tl.Entry)
	const indent = "                            "
	for _, e := range tl.Steps {
		switch e.Kind {
		case "send":
			what := e.Template
			var notes []string
			if e.Step != "" {
				notes = append(notes, "step "+e.Step)
			}
			if e.Topic != "" && e.Topic != tl.Topic {
				notes = append(notes, "topic "+string(e.Topic))
			}
			if len(notes) > 0 {
				what += " (" + strings.Join(notes, ", ") + ")"
			}
			if e.Subject != "" {
				what += fmt.Sprintf(", subject %q", e.Subject)
			}
			fmt.Fprintf(w, "%-27s send  %s\n", e.Local, what)
			for _, why := range e.Why {
				fmt.Fprintf(w, "%swhy: %s\n", indent, why)
			}
		case "event":
			fmt.Fprintf(w, "%-27s event %s (assumed)\n", e.Local, e.Event)
		case "wait":
			fmt.Fprintf(w, "%-27s wait  %s\n", e.Local, e.Reason)
		default:
			fmt.Fprintf(w, "%-27s %s  %s\n", e.Local, e.Kind, e.Reason)
		}
	}
	fmt.Fprintf(w, "\n%d %s; %s\nNothing was written or sent.\n", tl.Emails, nounFor(tl.Emails, "email", "emails"), tl.Outcome)
}

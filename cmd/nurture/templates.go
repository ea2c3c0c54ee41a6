package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/templates"
)

// sampleContacts are who `templates check` renders every template for: one
// with everything known, one with nothing but an address, one hostile.
var sampleContacts = []nurture.Contact{
	{ID: 1, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Company: "Analytical Engines", Industry: "Software",
		Title: "CTO", Role: "Engineering", Department: "R&D", Seniority: "C-level", TeamSize: "11-50", Region: "eu", Country: "GB", TimeZone: "Europe/London", Locale: "en-GB"},
	{ID: 2, Email: "someone@example.com"},
	{ID: 3, Email: "x@example.com", FirstName: `<script>alert(1)</script>`, Company: `" onmouseover="x`, Locale: "fr", TimeZone: "Mars/Olympus"},
}

// product is the sender the emails speak for, as configured.
func product(cfg *config.Config) nurture.Product {
	return nurture.Product{Name: cfg.ProductName, URL: cfg.ProductURL, Address: cfg.PostalAddress}
}

// runTemplates serves `nurture templates check|preview`.
func runTemplates(ctx context.Context, cmd config.Command, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		config.PrintUsage(stderr, cmd)
		return 2
	}
	action, rest := args[0], args[1:]
	var name string
	if action == "preview" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	var contactID int64
	var email string
	var html, text bool
	cfg, err := config.LoadWith(cmd, rest, getenv, stderr, func(fs *flag.FlagSet) {
		if action == "preview" {
			fs.Int64Var(&contactID, "contact", 0, "id of the contact to render for")
			fs.StringVar(&email, "email", "", "address of the contact to render for")
			fs.BoolVar(&html, "html", false, "print the HTML part")
			fs.BoolVar(&text, "text", false, "print the text part (the default)")
		}
	})
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture templates %s: %v\n", action, err)
		return 2
	}
	set, err := loadTemplates(cfg.TemplatesDir)
	if err != nil {
		fmt.Fprintf(stderr, "nurture templates: %v\n", err)
		return 1
	}
	switch action {
	case "check":
		if plainHTTP(cfg.PublicURL) {
			fmt.Fprintf(stderr, "warning: %s (it is %s)\n", plainHTTPWarning, cfg.PublicURL)
		}
		return checkTemplates(set, cfg, product(cfg), stdout, stderr)
	case "preview":
		if name == "" {
			fmt.Fprintln(stderr, "nurture templates preview: name the template: templates preview NAME --contact ID")
			return 2
		}
		return previewTemplate(ctx, cfg, set, product(cfg), name, contactID, email, html, stdout, stderr)
	}
	fmt.Fprintf(stderr, "nurture templates: unknown action %q (check or preview)\n", action)
	return 2
}

// checkTemplates renders every template of set for the sample contacts,
// and checks that the sequences in use find every template they send.
func checkTemplates(set *templates.Set, cfg *config.Config, product nurture.Product, stdout, stderr io.Writer) int {
	failed := 0
	for _, name := range set.Names() {
		for _, c := range sampleContacts {
			r, err := set.Render(name, sampleData(c, product))
			if err == nil && (strings.Contains(r.Text, "<no value>") || strings.Contains(r.Subject, "<no value>")) {
				err = errors.New(`"<no value>" in the output: a field is missing its fallback`)
			}
			if err != nil {
				failed++
				fmt.Fprintf(stderr, "%s (contact %q): %v\n", name, c.Email, err)
			}
		}
	}
	// The sequences in use must find every template they send.
	var missing error
	if _, err := loadSequences(cfg.SequencesDir, set); err != nil {
		missing = sequencesError(err, cfg.SequencesDir, cfg.TemplatesDir)
	}
	if missing != nil {
		fmt.Fprintln(stderr, missing)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d renders failed\n", failed)
		return 1
	}
	if missing != nil {
		return 1
	}
	fmt.Fprintf(stdout, "%d templates render for %d sample contacts\n", len(set.Names()), len(sampleContacts))
	return 0
}

func sampleData(c nurture.Contact, product nurture.Product) templates.Data {
	return templates.Data{
		Contact: c, Product: product,
		Message: templates.MessageInfo{ID: 1},
		Links: templates.Links{Unsubscribe: "https://links.example.com/u/preview", Preferences: "https://links.example.com/u/preview",
			ViewInBrowser: "https://links.example.com/v/preview"},
		Engagement: nurture.EngagementSummary{FirstSeen: time.Now().Add(-72 * time.Hour), LastSeen: time.Now().Add(-24 * time.Hour),
			PageViews: 12, Actions: map[string]int64{"Project Created": 2}},
	}
}

func previewTemplate(ctx context.Context, cfg *config.Config, set *templates.Set, product nurture.Product, name string,
	contactID int64, email string, html bool, stdout, stderr io.Writer) int {
	if (contactID == 0) == (email == "") {
		fmt.Fprintln(stderr, "nurture templates preview: give one of --contact ID or --email ADDRESS")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "nurture templates preview: %v\n", err)
		return 1
	}
	defer closeStore()
	var c *nurture.Contact
	if contactID != 0 {
		c, err = store.Contact(ctx, contactID)
	} else {
		c, err = store.ContactByEmail(ctx, email)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture templates preview: %v\n", err)
		return 1
	}
	eng, err := store.Engagement(ctx, c.ID)
	if err != nil {
		fmt.Fprintf(stderr, "nurture templates preview: %v\n", err)
		return 1
	}
	var co *nurture.Company
	if c.CompanyID != 0 {
		co, err = store.Company(ctx, c.CompanyID)
		if err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound { // a company deleted meanwhile is none
			fmt.Fprintf(stderr, "nurture templates preview: %v\n", err)
			return 1
		}
	}
	d := sampleData(*c, product)
	d.Company = templates.CompanyOf(co)
	d.Engagement = *eng
	r, err := set.Render(name, d)
	if err != nil {
		fmt.Fprintf(stderr, "nurture templates preview: %v\n", err)
		return 1
	}
	if html {
		fmt.Fprintln(stdout, r.HTML)
		return 0
	}
	fmt.Fprintf(stdout, "Subject: %s\nPreheader: %s\nTopic: %s\n\n%s", r.Subject, r.Preheader, r.Topic, r.Text)
	return 0
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/postgres"
)

// runAPIKey serves `nurture apikey create|list|revoke`.
func runAPIKey(ctx context.Context, cmd config.Command, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "nurture apikey: say create, list or revoke (see nurture apikey --help)")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			config.PrintUsage(stdout, cmd)
			return 0
		}
		return 2
	}
	action := args[0]
	var name, scopes string
	var id int64
	cfg, err := config.LoadWith(cmd, args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		switch action {
		case "create":
			fs.StringVar(&name, "name", "", "what the key is for, such as the product sending data")
			fs.StringVar(&scopes, "scopes", string(nurture.ScopeIngest), "comma-separated scopes: ingest, admin, webhooks")
		case "revoke":
			fs.Int64Var(&id, "id", 0, "the id of the key to revoke (see apikey list)")
		}
	})
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture apikey %s: %v\n", action, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "nurture apikey: %v\n", err)
		return 1
	}
	defer closeStore()

	switch action {
	case "create":
		parsed, err := nurture.ParseScopes(scopes)
		if err == nil {
			var key string
			key, err = createAPIKey(ctx, store, name, parsed)
			if err == nil {
				fmt.Fprintf(stdout, "%s\n", key)
				fmt.Fprintln(stderr, "Keep this key now: it is shown once and only its hash is stored.")
			}
		}
		return report(stderr, "create", err)
	case "list":
		keys, err := store.APIKeys(ctx)
		if err != nil {
			return report(stderr, "list", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tLAST USED\tSTATUS")
		for _, k := range keys {
			status := "active"
			if !k.RevokedAt.IsZero() {
				status = "revoked " + k.RevokedAt.Format(time.DateOnly)
			}
			scopes := make([]string, len(k.Scopes))
			for i, s := range k.Scopes {
				scopes[i] = string(s)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, strings.Join(scopes, ","),
				k.CreatedAt.Format(time.DateOnly), dateOrNever(k.LastUsedAt), status)
		}
		return report(stderr, "list", tw.Flush())
	case "revoke":
		if id < 1 {
			return report(stderr, "revoke", nurture.FieldError("id", "is required: the id shown by apikey list"))
		}
		err := store.RevokeAPIKey(ctx, id)
		if err == nil {
			fmt.Fprintf(stdout, "revoked key %d (running API processes stop accepting it within 10 seconds)\n", id)
		}
		return report(stderr, "revoke", err)
	}
	fmt.Fprintf(stderr, "nurture apikey: unknown action %q (create, list or revoke)\n", action)
	return 2
}

// createAPIKey makes a key, stores its hash and returns the key itself.
func createAPIKey(ctx context.Context, store *postgres.DB, name string, scopes []nurture.Scope) (string, error) {
	key, stored, err := nurture.NewAPIKey(name, scopes)
	if err != nil {
		return "", err
	}
	if err := store.CreateAPIKey(ctx, stored); err != nil {
		return "", err
	}
	return key, nil
}

func report(stderr io.Writer, action string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "nurture apikey %s: %v\n", action, err)
	if nurture.ErrorCodeOf(err) == nurture.CodeInvalid {
		return 2
	}
	return 1
}

func dateOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.DateOnly)
}

// Command nurture is the Nurture lifecycle email engine: one binary whose
// subcommands run the HTTP API, the worker, both, the migrations and a few
// operations tasks. It is the only place that knows every package and wires
// them together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/nurture-email/nurture/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], config.Environ, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code. Everything
// it needs from the outside comes in as arguments, so tests run it in process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if cmd, ok := config.LookupCommand(args[1]); ok {
				config.PrintUsage(stdout, cmd)
				return 0
			}
		}
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := config.LookupCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "nurture: unknown command %q (see nurture --help)\n", args[0])
		return 2
	}
	switch cmd.Name {
	case "version":
		fmt.Fprintln(stdout, "nurture", version)
		return 0
	case "apikey":
		return runAPIKey(ctx, cmd, args[1:], getenv, stdout, stderr)
	case "templates":
		return runTemplates(ctx, cmd, args[1:], getenv, stdout, stderr)
	case "sequences":
		return runSequences(ctx, cmd, args[1:], getenv, stdout, stderr)
	case "enrich":
		return runEnrich(ctx, cmd, args[1:], getenv, stdout, stderr, enrichOptions{})
	case "campaigns":
		return runCampaigns(ctx, cmd, args[1:], getenv, stdout, stderr)
	}
	cfg, err := config.Load(cmd, args[1:], getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture %s: %v\n", cmd.Name, err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	if cfg.SecretGenerated {
		logger.Warn("no NURTURE_SECRET set: generated a random one for this run (--dev); links in emails sent now stop working after a restart")
	}
	if cfg.ErasureKeyGenerated {
		logger.Warn("no NURTURE_ERASURE_KEY set: generated a random one for this run (--dev); addresses erased now are not recognised after a restart")
	}
	if !cfg.Dev && slices.Contains(cmd.Settings, "public-url") && plainHTTP(cfg.PublicURL) {
		logger.Warn(plainHTTPWarning+" (--dev silences this warning)", "public_url", cfg.PublicURL)
	}
	if err := dispatch(ctx, cmd.Name, cfg, logger, stdout); err != nil {
		logger.Error(cmd.Name+" stopped", "err", err)
		return 1
	}
	return 0
}

// plainHTTPWarning is said when recipient links would be plain http: the
// engine works, but mailbox providers ignore its unsubscribe header.
const plainHTTPWarning = "NURTURE_PUBLIC_URL is http, not https: the List-Unsubscribe links of every email will be http, " +
	"which RFC 8058 one-click unsubscribe forbids and Gmail and Yahoo ignore; set an https URL"

// plainHTTP reports whether the public URL is http rather than https.
func plainHTTP(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err == nil && strings.EqualFold(u.Scheme, "http")
}

func dispatch(ctx context.Context, name string, cfg *config.Config, logger *slog.Logger, stdout io.Writer) error {
	switch name {
	case "api":
		tuneGC(os.Getenv)
		return runServices(ctx, cfg, logger, serviceAPI)
	case "worker":
		tuneGC(os.Getenv)
		return runServices(ctx, cfg, logger, serviceWorker)
	case "all":
		tuneGC(os.Getenv)
		return runServices(ctx, cfg, logger, serviceMigrate|serviceAPI|serviceWorker)
	case "migrate":
		return runServices(ctx, cfg, logger, serviceMigrate)
	case "healthcheck":
		return healthcheck(ctx, cfg.HealthURL)
	case "demo":
		return demo(ctx, cfg, logger, stdout)
	case "secret":
		return runSecret(cfg, logger, stdout)
	}
	return fmt.Errorf("command %s is not wired", name)
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "Nurture %s: a self-hosted lifecycle email engine.\n\nUsage: nurture <command> [flags]\n\nCommands:\n", version)
	for _, c := range config.Commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nRun 'nurture <command> --help' for a command's flags and environment variables.\n")
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	// JSON unless asked otherwise, or in development, where a person reads them.
	if cfg.LogFormat == "json" || (cfg.LogFormat == "" && !cfg.Dev) {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

package main

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/config"
)

// devLoopback is where research may go in development mode.
var devLoopback = netip.MustParsePrefix("127.0.0.0/8")

// researchSources builds research's sources from the settings: the web
// site and DNS, and the HTTP JSON provider when one is set. base is the
// fetcher's configuration before the settings apply (tests give a local
// resolver and a guard; production the zero value), siteURL the site's
// home page of a domain (nil: https://domain/). In development mode every
// connection is refused outside 127.0.0.0/8, under the fetcher's own
// checks, and logged.
func researchSources(cfg *config.Config, base enrich.FetchConfig, siteURL func(string) string, logger *slog.Logger) ([]enrich.Source, error) {
	fc := base
	fc.ContactURL = cfg.EnrichContactURL
	if fc.Resolver == nil && cfg.EnrichDNS != "" {
		fc.Resolver = enrich.NewResolver(cfg.EnrichDNS)
	}
	if cfg.Dev {
		fc.AllowLoopback = devLoopback
		guard := enrich.LoopbackOnly(func(address string) {
			logger.Warn("research refused a connection outside 127.0.0.0/8 in development mode", "address", address)
		})
		if wrap := fc.WrapDial; wrap != nil {
			fc.WrapDial = func(next enrich.DialFunc) enrich.DialFunc { return guard(wrap(next)) }
		} else {
			fc.WrapDial = guard
		}
	}
	fetcher := enrich.NewFetcher(fc)
	site := enrich.NewSite(fetcher)
	site.URLFor = siteURL
	sources := []enrich.Source{site, enrich.NewDNS(fc.Resolver, fc.Clock)}
	if cfg.EnrichProviderURL != "" {
		fields := make(map[string]enrich.Field, len(cfg.EnrichProviderFields))
		for path, f := range cfg.EnrichProviderFields {
			fields[path] = enrich.Field(f)
		}
		p, err := enrich.NewProvider(fetcher, enrich.ProviderConfig{URL: cfg.EnrichProviderURL,
			Header: cfg.EnrichProviderHeader, Key: cfg.EnrichProviderKey, Fields: fields})
		if err != nil {
			return nil, fmt.Errorf("NURTURE_ENRICH_PROVIDER_URL, _HEADER, _KEY, _FIELDS: %w", err)
		}
		sources = append(sources, p)
	}
	return sources, nil
}

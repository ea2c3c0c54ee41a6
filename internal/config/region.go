package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nurture-email/nurture"
)

// Per-region settings are environment variables whose names end in the
// region's name, upper case with "-" as "_" (NURTURE_SMTP_URL_EU,
// NURTURE_SMTP_URL_US_EAST): they have no flag, since their names depend
// on NURTURE_REGIONS.
const (
	RegionSMTPURLEnv      = "NURTURE_SMTP_URL_"
	RegionDKIMDomainEnv   = "NURTURE_DKIM_DOMAIN_"
	RegionDKIMKeyFileEnv  = "NURTURE_DKIM_KEY_FILE_"
	RegionDKIMSelectorEnv = "NURTURE_DKIM_SELECTOR_"
)

// RegionEnv is the name of the per-region variable prefix (one of the
// Region*Env constants) of region.
func RegionEnv(prefix, region string) string { return prefix + nurture.RegionEnvSuffix(region) }

func setRegions(c *Config, v string) error {
	names, err := nurture.ParseRegionList(v)
	if err != nil {
		return err
	}
	c.Regions = names
	return nil
}

func setDefaultRegion(c *Config, v string) error {
	if v != "" {
		if err := nurture.CheckRegionName(v); err != nil {
			return err
		}
	}
	c.DefaultRegion = v
	return nil
}

func setWorkerRegions(c *Config, v string) error {
	names, err := nurture.ParseRegionList(v)
	if err != nil {
		return err
	}
	c.WorkerRegions = names
	return nil
}

// RegionSet is the installation's regions as the domain knows them.
func (c *Config) RegionSet() nurture.Regions {
	return nurture.Regions{Names: c.Regions, Default: c.DefaultRegion}
}

// checkRegions checks the region settings against each other and, for a
// command that sends (relays), reads each served region's relay and DKIM
// settings from their per-region variables.
func (c *Config) checkRegions(origins map[string]string, getenv func(string) string, relays bool) error {
	name := func(flag string) string { return strings.TrimPrefix(origins[flag], "default of ") }
	if len(c.Regions) == 0 {
		switch {
		case c.DefaultRegion != "":
			return fmt.Errorf("invalid %s: %q, but NURTURE_REGIONS (--declared-regions) declares no region", name("default-region"), c.DefaultRegion)
		case len(c.WorkerRegions) > 0:
			return fmt.Errorf("invalid %s: %q, but NURTURE_REGIONS (--declared-regions) declares no region", name("regions"), strings.Join(c.WorkerRegions, ","))
		}
		return nil
	}
	if c.DefaultRegion == "" {
		c.DefaultRegion = c.Regions[0]
	}
	if !slices.Contains(c.Regions, c.DefaultRegion) {
		return fmt.Errorf("invalid %s: %q is not one of the regions NURTURE_REGIONS declares (%s)", name("default-region"), c.DefaultRegion, strings.Join(c.Regions, ","))
	}
	for _, r := range c.WorkerRegions {
		if !slices.Contains(c.Regions, r) {
			return fmt.Errorf("invalid %s: %q is not one of the regions NURTURE_REGIONS declares (%s)", name("regions"), r, strings.Join(c.Regions, ","))
		}
	}
	if len(c.WorkerRegions) == 0 {
		c.WorkerRegions = slices.Clone(c.Regions)
	}
	if !relays {
		return nil
	}
	c.RegionRelays = make(map[string]RegionRelay, len(c.WorkerRegions))
	for _, r := range c.WorkerRegions {
		relay, err := c.regionRelay(r, getenv)
		if err != nil {
			return err
		}
		c.RegionRelays[r] = relay
	}
	return nil
}

// regionRelay reads region r's relay and DKIM settings. The relay is
// required, but for the default region, which may use NURTURE_SMTP_URL;
// the DKIM settings fall back to the global ones.
func (c *Config) regionRelay(r string, getenv func(string) string) (RegionRelay, error) {
	urlEnv := RegionEnv(RegionSMTPURLEnv, r)
	relay := RegionRelay{SMTPURL: strings.TrimSpace(getenv(urlEnv))}
	switch {
	case relay.SMTPURL == "" && r == c.DefaultRegion:
		relay.SMTPURL = c.SMTPURL
	case relay.SMTPURL == "":
		return relay, fmt.Errorf("missing %s: region %s needs its own relay (only the default region, %s, may use NURTURE_SMTP_URL)", urlEnv, r, c.DefaultRegion)
	default:
		if err := checkSMTPURL(relay.SMTPURL); err != nil {
			return relay, fmt.Errorf("invalid %s: %w", urlEnv, err)
		}
	}
	relay.DKIMDomain, relay.DKIMKeyFile, relay.DKIMSelector = c.DKIMDomain, c.DKIMKeyFile, c.DKIMSelector
	domainEnv, keyEnv, selEnv := RegionEnv(RegionDKIMDomainEnv, r), RegionEnv(RegionDKIMKeyFileEnv, r), RegionEnv(RegionDKIMSelectorEnv, r)
	own := false
	if v := strings.TrimSpace(getenv(domainEnv)); v != "" {
		relay.DKIMDomain, own = v, true
	}
	if v := strings.TrimSpace(getenv(keyEnv)); v != "" {
		relay.DKIMKeyFile, own = v, true
	}
	if v := strings.TrimSpace(getenv(selEnv)); v != "" {
		if err := setHELO(&Config{}, v); err != nil || strings.Contains(v, ".") {
			return relay, fmt.Errorf("invalid %s: %q is not a selector such as nurture or eu2026", selEnv, v)
		}
		relay.DKIMSelector = v
	}
	if (relay.DKIMDomain == "") != (relay.DKIMKeyFile == "") {
		if own {
			return relay, errors.New("region " + r + "'s DKIM signing needs both a domain and a key file: set " + domainEnv + " and " + keyEnv + " together (or neither, to use NURTURE_DKIM_DOMAIN and NURTURE_DKIM_KEY_FILE)")
		}
	}
	return relay, nil
}

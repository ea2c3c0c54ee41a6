package main

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/config"
	"github.com/nurture-email/nurture/mailer"
)

// The settings behind the fields that the domain's and the mailer's
// errors name: only cmd and internal/config know the variables.
var (
	signerSettings = map[string]string{
		nurture.FieldSecret:         "NURTURE_SECRET",
		nurture.FieldSecretPrevious: "NURTURE_SECRET_PREVIOUS",
	}
	mailerSettings = map[string]string{
		mailer.FieldURL:          "NURTURE_SMTP_URL",
		mailer.FieldPoolSize:     "NURTURE_SMTP_POOL",
		mailer.FieldHELO:         "NURTURE_SMTP_HELO",
		mailer.FieldDKIMDomain:   "NURTURE_DKIM_DOMAIN",
		mailer.FieldDKIMSelector: "NURTURE_DKIM_SELECTOR",
		mailer.FieldDKIMKey:      "NURTURE_DKIM_KEY_FILE",
	}
)

// regionMailerSettings names the per-region variables behind the
// mailer's fields for region r: its own where it sets one, else the
// global one it falls back to.
func regionMailerSettings(r string, rr config.RegionRelay, cfg *config.Config) map[string]string {
	out := maps.Clone(mailerSettings)
	pick := func(field, prefix, own, global string) {
		if own != global {
			out[field] = config.RegionEnv(prefix, r)
		}
	}
	pick(mailer.FieldURL, config.RegionSMTPURLEnv, rr.SMTPURL, cfg.SMTPURL)
	pick(mailer.FieldDKIMDomain, config.RegionDKIMDomainEnv, rr.DKIMDomain, cfg.DKIMDomain)
	pick(mailer.FieldDKIMKey, config.RegionDKIMKeyFileEnv, rr.DKIMKeyFile, cfg.DKIMKeyFile)
	pick(mailer.FieldDKIMSelector, config.RegionDKIMSelectorEnv, rr.DKIMSelector, cfg.DKIMSelector)
	return out
}

// namedSetting rewrites an invalid *nurture.Error about a field into an
// error that names the setting behind the field, as every start-up error
// does; other errors pass unchanged.
func namedSetting(err error, settings map[string]string) error {
	var ne *nurture.Error
	if errors.As(err, &ne) {
		if name, ok := settings[ne.Field]; ok {
			return fmt.Errorf("invalid %s: %s", name, ne.Message)
		}
	}
	return err
}

// heloName is the name the worker gives in EHLO: NURTURE_SMTP_HELO when
// set; else the machine's host name when it is fully qualified, as RFC
// 5321 4.1.1.1 asks; else the domain of the From address. A container's
// host name is a bare id, which relays that check HELO (Postfix's
// reject_non_fqdn_helo_hostname) refuse, while the sender's domain is a
// real one that the operator controls. Empty, when neither is a host
// name, leaves go-mail's default (the host name as it is).
func heloName(setting string, hostname func() (string, error), from string) string {
	if setting != "" {
		return setting
	}
	if h, err := hostname(); err == nil && strings.Contains(h, ".") && isHostName(h) {
		return h
	}
	if domain := from[strings.LastIndexByte(from, '@')+1:]; strings.Contains(domain, ".") && isHostName(domain) {
		return domain
	}
	return ""
}

// isHostName reports whether s is dot-separated labels of letters,
// digits, inner hyphens and underscores.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !isLabelChar(r) {
				return false
			}
		}
	}
	return true
}

// isLabelChar reports whether r may be in a host name's label.
func isLabelChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_'
}

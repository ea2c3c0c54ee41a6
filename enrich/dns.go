package enrich

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	nurture "github.com/nurture-email/nurture"
)

// DNS researches a domain's DNS: who receives its mail (MX) and which
// services send mail in its name (the includes of its SPF record), which
// says which SaaS tools the company uses. It reads two record sets and
// follows nothing: includes are matched by name, not resolved.
type DNS struct {
	resolver *net.Resolver
	clock    nurture.Clock
}

// NewDNS returns the DNS source. A nil resolver is net.DefaultResolver,
// a nil clock the wall clock; tests pass NewResolver(localServer).
func NewDNS(r *net.Resolver, clock nurture.Clock) *DNS {
	if r == nil {
		r = net.DefaultResolver
	}
	if clock == nil {
		clock = nurture.SystemClock{}
	}
	return &DNS{resolver: r, clock: clock}
}

// Name is "dns".
func (*DNS) Name() string { return "dns" }

// Research looks up the MX and TXT records of the query's domain. Each
// finding's source is the record it was read from, in zone-file form.
func (d *DNS) Research(ctx context.Context, q Query) Result {
	now := d.clock.Now()
	q, bad, ok := normalise(d.Name(), q, now)
	if !ok {
		return bad
	}
	mxs, mxErr := d.resolver.LookupMX(ctx, q.Domain)
	txts, txtErr := d.resolver.LookupTXT(ctx, q.Domain)
	if mxErr != nil && txtErr != nil {
		if notFound(mxErr) && notFound(txtErr) {
			return unavailable(d.Name(), q.Domain, fmt.Sprintf("dns: no MX or TXT record for %s", q.Domain), now)
		}
		return unavailable(d.Name(), q.Domain, "dns: "+firstErr(mxErr, txtErr).Error(), now)
	}
	r := Result{Source: d.Name(), Domain: q.Domain, Status: StatusOK, At: now}
	fqdn := q.Domain + "."
	seen := map[string]bool{}
	for _, mx := range mxs {
		host := normHost(mx.Host)
		if p := mailProvider(host); p != "" && !seen[p] {
			seen[p] = true
			r.Findings = append(r.Findings, Finding{Field: FieldMailHost, Value: p, Provenance: Provenance{
				Source: fmt.Sprintf("%s MX %d %s.", fqdn, mx.Pref, host), Method: MethodMX, At: now}})
		}
	}
	seen = map[string]bool{}
	for _, txt := range txts {
		for _, inc := range spfIncludes(txt) {
			if tool := spfTool(inc); tool != "" && !seen[tool] {
				seen[tool] = true
				r.Findings = append(r.Findings, Finding{Field: FieldSaaS, Value: tool, Provenance: Provenance{
					Source: fmt.Sprintf("%s TXT %q", fqdn, clip(txt, 255)), Method: MethodSPF, At: now}})
			}
		}
	}
	return r
}

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".") }

// spfIncludes returns the domains an SPF record (v=spf1 ...) names in
// include: mechanisms and its redirect= modifier; nothing for other TXT
// records (site verifications and the like).
func spfIncludes(txt string) []string {
	fields := strings.Fields(txt)
	if len(fields) == 0 || !strings.EqualFold(fields[0], "v=spf1") {
		return nil
	}
	var out []string
	for _, f := range fields[1:] {
		f = strings.ToLower(f)
		f = strings.TrimLeft(f, "+-~?") // a qualifier does not change who sends
		switch {
		case strings.HasPrefix(f, "include:"):
			out = append(out, normHost(f[len("include:"):]))
		case strings.HasPrefix(f, "redirect="):
			out = append(out, normHost(f[len("redirect="):]))
		}
	}
	return out
}

// suffixRule maps a host name ending (a whole label boundary) to a name.
type suffixRule struct {
	suffix string
	name   string
}

// mxProviders names mail providers by the host names of their MX records;
// the first match wins. docs/enrichment.md shows this table: change both
// together.
var mxProviders = []suffixRule{
	{"aspmx.l.google.com", "Google Workspace"},
	{"googlemail.com", "Google Workspace"},
	{"smtp.google.com", "Google Workspace"},
	{"mail.protection.outlook.com", "Microsoft 365"},
	{"mx.microsoft", "Microsoft 365"},
	{"zoho.com", "Zoho Mail"},
	{"zoho.eu", "Zoho Mail"},
	{"zoho.in", "Zoho Mail"},
	{"zoho.com.au", "Zoho Mail"},
	{"zohomail.com", "Zoho Mail"},
	{"protonmail.ch", "Proton Mail"},
	{"proton.me", "Proton Mail"},
	{"messagingengine.com", "Fastmail"},
	{"amazonaws.com", "Amazon SES / WorkMail"}, // inbound-smtp.<region>.amazonaws.com
	{"mimecast.com", "Mimecast"},
	{"mimecast.co.za", "Mimecast"},
	{"pphosted.com", "Proofpoint"},
	{"ppe-hosted.com", "Proofpoint Essentials"},
	{"barracudanetworks.com", "Barracuda"},
	{"iphmx.com", "Cisco Secure Email"},
	{"messagelabs.com", "Broadcom Email Security.cloud"},
	{"hornetsecurity.com", "Hornetsecurity"},
	{"mail.icloud.com", "iCloud Mail"},
	{"yandex.net", "Yandex 360"},
	{"secureserver.net", "GoDaddy"},
	{"ovh.net", "OVHcloud"},
	{"gandi.net", "Gandi"},
	{"kundenserver.de", "IONOS"},
	{"ionos.com", "IONOS"},
	{"mailgun.org", "Mailgun"},
	{"sendgrid.net", "SendGrid"},
}

// spfTools names services by the domains SPF records include: a company
// whose SPF includes _spf.salesforce.com sends mail from Salesforce.
// docs/enrichment.md shows this table: change both together.
var spfTools = []suffixRule{
	{"_spf.google.com", "Google Workspace"},
	{"spf.protection.outlook.com", "Microsoft 365"},
	{"aspmx.pardot.com", "Salesforce Account Engagement (Pardot)"},
	{"_spf.salesforce.com", "Salesforce"},
	{"sendgrid.net", "SendGrid"},
	{"mailgun.org", "Mailgun"},
	{"servers.mcsv.net", "Mailchimp"},
	{"mandrillapp.com", "Mailchimp Transactional (Mandrill)"},
	{"hubspotemail.net", "HubSpot"},
	{"amazonses.com", "Amazon SES"},
	{"mktomail.com", "Marketo"},
	{"mail.zendesk.com", "Zendesk"},
	{"zendesk.com", "Zendesk"},
	{"intercom.io", "Intercom"},
	{"freshdesk.com", "Freshdesk"},
	{"helpscoutemail.com", "Help Scout"},
	{"mtasv.net", "Postmark"},
	{"sparkpostmail.com", "SparkPost"},
	{"createsend.com", "Campaign Monitor"},
	{"constantcontact.com", "Constant Contact"},
	{"mailjet.com", "Mailjet"},
	{"sendinblue.com", "Brevo"},
	{"brevo.com", "Brevo"},
	{"customeriomail.com", "Customer.io"},
	{"_spf.atlassian.net", "Atlassian"},
	{"shops.shopify.com", "Shopify"},
	{"zoho.com", "Zoho"},
	{"zoho.eu", "Zoho"},
	{"_spf.protonmail.ch", "Proton Mail"},
	{"messagingengine.com", "Fastmail"},
	{"mimecast.com", "Mimecast"},
	{"pphosted.com", "Proofpoint"},
}

func matchSuffix(rules []suffixRule, host string) string {
	for _, r := range rules {
		if host == r.suffix || strings.HasSuffix(host, "."+r.suffix) {
			return r.name
		}
	}
	return ""
}

// mailProvider names the provider of an MX host, or "".
func mailProvider(host string) string { return matchSuffix(mxProviders, normHost(host)) }

// spfTool names the service an SPF include stands for, or "".
func spfTool(include string) string { return matchSuffix(spfTools, normHost(include)) }

package enrich

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

func setupDNS(t *testing.T) *DNS {
	t.Helper()
	server := testkit.StartDNS(t,
		"acme.test. 60 IN MX 1 ASPMX.L.GOOGLE.COM.",
		"acme.test. 60 IN MX 5 alt1.aspmx.l.google.com.",
		`acme.test. 60 IN TXT "google-site-verification=abc123"`,
		`acme.test. 60 IN TXT "v=spf1 include:_spf.google.com include:_spf.salesforce.com ~include:sendgrid.net include:servers.mcsv.net include:unknown.example.net -all"`,
		"contoso.test. 60 IN MX 0 contoso-test.mail.protection.outlook.com.",
		`contoso.test. 60 IN TXT "v=spf1 " "include:spf.protection.outlook.com include:123456.spf01.hubspotemail.net -all"`,
		"self.test. 60 IN MX 10 mail.self.test.",
		"self.test. 60 IN A 127.0.0.1",
	)
	return NewDNS(NewResolver(server), fixedClock{})
}

func TestDNSMailProviderAndSaaS(t *testing.T) {
	t.Parallel()
	d := setupDNS(t)

	r := d.Research(t.Context(), Query{Domain: "acme.test"})
	require.Equal(t, StatusOK, r.Status, r.Reason)
	require.Equal(t, "dns", r.Source)
	require.Equal(t, []string{"Google Workspace"}, values(r, FieldMailHost), "two MX of one provider are one finding")
	mx, _ := r.First(FieldMailHost)
	require.Equal(t, Provenance{Source: "acme.test. MX 1 aspmx.l.google.com.", Method: MethodMX, At: testTime}, mx.Provenance)
	require.Equal(t, []string{"Google Workspace", "Salesforce", "SendGrid", "Mailchimp"}, values(r, FieldSaaS))
	saas, _ := r.First(FieldSaaS)
	require.Equal(t, MethodSPF, saas.Method)
	require.Contains(t, saas.Source, `acme.test. TXT "v=spf1 include:_spf.google.com`)

	r = d.Research(t.Context(), Query{Domain: "contoso.test"})
	require.Equal(t, StatusOK, r.Status)
	require.Equal(t, []string{"Microsoft 365"}, values(r, FieldMailHost))
	require.Equal(t, []string{"Microsoft 365", "HubSpot"}, values(r, FieldSaaS), "a TXT record split in strings is read whole")
}

func TestDNSNothingKnown(t *testing.T) {
	t.Parallel()
	d := setupDNS(t)
	r := d.Research(t.Context(), Query{Domain: "self.test"})
	require.Equal(t, StatusOK, r.Status, "a self-hosted MX is an answer, not a failure")
	require.Empty(t, r.Findings)

	r = d.Research(t.Context(), Query{Domain: "nowhere.test"})
	require.Equal(t, StatusUnavailable, r.Status)
	require.Equal(t, "dns: no MX or TXT record for nowhere.test", r.Reason)
}

func TestMailProviderTable(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"aspmx.l.google.com.":                   "Google Workspace",
		"smtp.google.com":                       "Google Workspace",
		"acme-com.mail.protection.outlook.com":  "Microsoft 365",
		"acme-com.l-v1.mx.microsoft":            "Microsoft 365",
		"mx.zoho.eu":                            "Zoho Mail",
		"mail.protonmail.ch":                    "Proton Mail",
		"in1-smtp.messagingengine.com":          "Fastmail",
		"inbound-smtp.eu-west-1.amazonaws.com":  "Amazon SES / WorkMail",
		"eu-smtp-inbound-1.mimecast.com":        "Mimecast",
		"mx0a-00123.pphosted.com":               "Proofpoint",
		"notgoogle.com":                         "",
		"evil-aspmx.l.google.com.attacker.test": "",
		"mail.acme.test":                        "",
	} {
		require.Equal(t, want, mailProvider(host), host)
	}
	for inc, want := range map[string]string{
		"_spf.salesforce.com":         "Salesforce",
		"sendgrid.net":                "SendGrid",
		"mailgun.org":                 "Mailgun",
		"servers.mcsv.net":            "Mailchimp",
		"spf.protection.outlook.com":  "Microsoft 365",
		"1234.spf03.hubspotemail.net": "HubSpot",
		"amazonses.com":               "Amazon SES",
		"spf.mtasv.net":               "Postmark",
		"xsendgrid.net":               "",
	} {
		require.Equal(t, want, spfTool(inc), inc)
	}
	require.Equal(t, []string{"a.test", "b.test", "c.test"}, spfIncludes("v=spf1 ip4:1.2.3.4 include:A.test ?include:b.test. redirect=c.test"))
	require.Empty(t, spfIncludes("include:a.test"), "not an SPF record")
}

// docs/enrichment.md shows the MX and SPF tables: every rule must be on a
// row naming both its suffix and its name, so the page stays true.
func TestDNSTablesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "enrichment.md"))
	require.NoError(t, err)
	rows := strings.Split(string(doc), "\n")
	for _, rules := range [][]suffixRule{mxProviders, spfTools} {
		for _, r := range rules {
			found := false
			for _, row := range rows {
				if strings.HasPrefix(row, "|") && strings.Contains(row, "`"+r.suffix+"`") && strings.Contains(row, r.name) {
					found = true
					break
				}
			}
			require.True(t, found, "docs/enrichment.md has no row for %s -> %s", r.suffix, r.name)
		}
	}
}

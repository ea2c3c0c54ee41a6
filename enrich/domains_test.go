package enrich_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
)

func TestWorkDomain(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 300)
	tests := []struct {
		email, domain, reason string
	}{
		{"ada@example.com", "example.com", ""},
		{"Ada.Lovelace@Example.COM", "example.com", ""},
		{"  ada@example.com  ", "example.com", ""},
		{"ada@mail.company.co.uk", "company.co.uk", ""},
		{"ada@eu.mail.acme.com.au", "acme.com.au", ""},
		{"ada@example.com.", "", enrich.RefusedUnparsable}, // RFC 5322 has no trailing dot
		{"jean+promo@societe.fr", "societe.fr", ""},
		{"hans@müller-gmbh.de", "xn--mller-gmbh-9db.de", ""},
		{"ada@acme.io", "acme.io", ""},
		// Free mail, with the brands registered in many countries.
		{"ada@gmail.com", "", enrich.RefusedFreeMail},
		{"ada@GoogleMail.com", "", enrich.RefusedFreeMail},
		{"ada@yahoo.co.uk", "", enrich.RefusedFreeMail},
		{"ada@yahoo.fr", "", enrich.RefusedFreeMail},
		{"ada@mail.yahoo.com", "", enrich.RefusedFreeMail},
		{"ada@hotmail.de", "", enrich.RefusedFreeMail},
		{"ada@outlook.com", "", enrich.RefusedFreeMail},
		{"ada@live.fr", "", enrich.RefusedFreeMail},
		{"ada@gmx.net", "", enrich.RefusedFreeMail},
		{"ada@gmx.at", "", enrich.RefusedFreeMail},
		{"ada@web.de", "", enrich.RefusedFreeMail},
		{"ada@orange.fr", "", enrich.RefusedFreeMail},
		{"ada@free.fr", "", enrich.RefusedFreeMail},
		{"ada@laposte.net", "", enrich.RefusedFreeMail},
		{"ada@yandex.ru", "", enrich.RefusedFreeMail},
		{"ada@mail.ru", "", enrich.RefusedFreeMail},
		{"ada@qq.com", "", enrich.RefusedFreeMail},
		{"ada@163.com", "", enrich.RefusedFreeMail},
		{"ada@proton.me", "", enrich.RefusedFreeMail},
		{"ada@icloud.com", "", enrich.RefusedFreeMail},
		// Throw-away inboxes.
		{"x@mailinator.com", "", enrich.RefusedDisposable},
		{"x@10minutemail.com", "", enrich.RefusedDisposable},
		{"x@guerrillamail.de", "", enrich.RefusedDisposable},
		{"x@temp-mail.org", "", enrich.RefusedDisposable},
		{"x@YOPmail.com", "", enrich.RefusedDisposable},
		// Not an address.
		{"", "", enrich.RefusedUnparsable},
		{"ada", "", enrich.RefusedUnparsable},
		{"ada@", "", enrich.RefusedUnparsable},
		{"@example.com", "", enrich.RefusedUnparsable},
		{"Ada <ada@example.com>", "", enrich.RefusedUnparsable},
		{"ada@example.com, bob@example.com", "", enrich.RefusedUnparsable},
		{"ada@exa mple.com", "", enrich.RefusedUnparsable},
		{"ada@example.com\r\nBcc: x@y.z", "", enrich.RefusedUnparsable},
		{"\xff@example.com", "", enrich.RefusedUnparsable},
		// Not a company's domain.
		{"ada@localhost", "", enrich.RefusedInvalidDomain},
		{"ada@printer.local", "", enrich.RefusedInvalidDomain},
		{"ada@[192.0.2.1]", "", enrich.RefusedInvalidDomain},
		{"ada@192.0.2.1", "", enrich.RefusedInvalidDomain},
		{"ada@-acme.com", "", enrich.RefusedInvalidDomain},
		{"ada@xn--a.com", "", enrich.RefusedInvalidDomain},
		{"ada@co.uk", "", enrich.RefusedNoRegistrable},
		{"ada@github.io", "", enrich.RefusedNoRegistrable},
		// Too long: the whole input, a domain, a label.
		{"ada@" + long + ".com", "", enrich.RefusedTooLong},
		{"ada@" + strings.Repeat("a", 64) + ".com", "", enrich.RefusedTooLong},
		{strings.Repeat("x", 3<<20), "", enrich.RefusedTooLong},
	}
	for _, tt := range tests {
		name := tt.email
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			domain, reason := enrich.WorkDomain(tt.email)
			require.Equal(t, tt.reason, reason)
			require.Equal(t, tt.domain, domain)
		})
	}
}

func TestIsFreeMailAndIsDisposable(t *testing.T) {
	t.Parallel()
	require.True(t, enrich.IsFreeMail("GMAIL.com"))
	require.True(t, enrich.IsFreeMail("yahoo.com.br"))
	require.False(t, enrich.IsFreeMail("yahoo-inc.com"))
	require.False(t, enrich.IsFreeMail("gmail.com.evil.example"))
	require.False(t, enrich.IsFreeMail("example.com"))
	require.False(t, enrich.IsFreeMail(""))
	require.True(t, enrich.IsDisposable("mailinator.com"))
	require.True(t, enrich.IsDisposable("guerrillamail.info"))
	require.False(t, enrich.IsDisposable("gmail.com"))
}

func TestCountryOfTLD(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"acme.fr": "FR", "acme.de": "DE", "acme.co.uk": "GB", "acme.uk": "GB",
		"ACME.ES.": "ES", "acme.com.au": "AU", "acme.ch": "CH", "acme.co.jp": "JP",
		"acme.it": "IT", "acme.be": "BE",
		// Generic top-level domains and ccTLDs sold for their letters.
		"acme.com": "", "acme.org": "", "acme.app": "", "acme.eu": "",
		"acme.io": "", "acme.co": "", "acme.ai": "", "acme.me": "", "acme.tv": "",
		"acme.ly": "", "acme.fm": "", "acme.gg": "",
		"": "", ".": "", "localhost": "", "acme.zz": "",
	}
	for domain, want := range tests {
		require.Equal(t, want, enrich.CountryOfTLD(domain), domain)
	}
}

// TestDomainListsAreClean keeps the embedded lists tidy: no domain on
// both, and none twice.
func TestDomainListsAreClean(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"gmail.com", "outlook.com", "web.de", "qq.com"} {
		require.False(t, enrich.IsDisposable(d), d)
	}
	for _, d := range []string{"mailinator.com", "yopmail.com", "10minutemail.com"} {
		require.False(t, enrich.IsFreeMail(d), d)
	}
}

func FuzzWorkDomain(f *testing.F) {
	for _, s := range []string{
		"ada@example.com", "ada@mail.company.co.uk", "ada@gmail.com", "x@mailinator.com",
		"hans@müller.de", "ada@xn--a.com", "ada@[::1]", "\"a b\"@example.com", "a@b@c",
		"ada@" + strings.Repeat("a", 300), "ada@.com", "ada@com.", "ada@yahoo.*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		domain, reason := enrich.WorkDomain(email)
		d2, r2 := enrich.WorkDomain(email)
		if domain != d2 || reason != r2 {
			t.Fatalf("not deterministic: %q %q then %q %q", domain, reason, d2, r2)
		}
		if (domain == "") == (reason == "") {
			t.Fatalf("WorkDomain(%q) = %q, %q: want exactly one of a domain and a reason", email, domain, reason)
		}
		if domain == "" {
			return
		}
		// An accepted domain is plain lower-case ASCII that DNS can carry,
		// and WorkDomain accepts it again as itself.
		if !utf8.ValidString(domain) || len(domain) > 253 || domain != strings.ToLower(domain) {
			t.Fatalf("WorkDomain(%q) = %q: not a lower-case host name", email, domain)
		}
		for _, r := range domain {
			if r > 0x7f || r == ' ' || r == '@' {
				t.Fatalf("WorkDomain(%q) = %q: not ASCII", email, domain)
			}
		}
		if again, why := enrich.WorkDomain("x@" + domain); again != domain {
			t.Fatalf("WorkDomain(x@%s) = %q, %q: want the domain itself", domain, again, why)
		}
		_ = enrich.CountryOfTLD(domain)
	})
}

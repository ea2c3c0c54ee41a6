package mailer

import "testing"

func FuzzParseURL(f *testing.F) {
	for _, seed := range []string{
		"smtp://relay.example.com",
		"smtp://user:pass@relay.example.com:2525?tls=none",
		"smtps://u:p%40ss@[::1]:465",
		"smtp://localhost?tls=opportunistic",
		"smtp://[fe80::1%25eth0]:25",
		"smtp://127.0.0.1:0",
		"smtp://a:b@c:d@e",
		"smtp://host?tls=none&tls=starttls",
		"smtp:host",
		"://",
		"smtp://h\x00st",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ParseURL(raw)
		if err != nil {
			if r != (Relay{}) {
				t.Fatalf("ParseURL(%q) returned %#v with error %v", raw, r, err)
			}
			return
		}
		if r.Host == "" || r.Port < 1 || r.Port > 65535 {
			t.Fatalf("ParseURL(%q) = %#v: host or port out of range", raw, r)
		}
		if r.Implicit == (r.TLS != "") {
			t.Fatalf("ParseURL(%q) = %#v: want either Implicit or a TLS mode", raw, r)
		}
		if (r.Username == "") != (r.Password == "") {
			t.Fatalf("ParseURL(%q) = %#v: half a credential", raw, r)
		}
		again, err := ParseURL(r.url(false))
		if err != nil || again != r {
			t.Fatalf("ParseURL(%q) = %#v, but its URL %q parses to %#v, %v", raw, r, r.url(false), again, err)
		}
	})
}

package nurture_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// snsURLReference is the rule CheckSNSURL enforces, written again from its
// statement rather than from its code, with net/url and no regular
// expression: an https URL without user information, on port 443 or none,
// whose host is sns.<region>.amazonaws.com or sns.<region>.amazonaws.com.cn
// (hosts compare without case), and for a certificate a path ending .pem.
// It is a little more lenient than CheckSNSURL (it takes :443, upper case
// and a query), never stricter than the rule.
func snsURLReference(raw string, cert bool) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" {
		return false
	}
	if port := u.Port(); port != "" && port != "443" {
		return false
	}
	labels := strings.Split(strings.ToLower(u.Hostname()), ".")
	if n := len(labels); n < 4 || n > 5 || (n == 5 && labels[4] != "cn") {
		return false
	}
	if labels[0] != "sns" || !awsRegion(labels[1]) || labels[2] != "amazonaws" || labels[3] != "com" {
		return false
	}
	return !cert || strings.HasSuffix(u.Path, ".pem")
}

// awsRegion reports whether s is shaped as an AWS region: two or more
// words of letters, then a number, joined by hyphens (us-east-1,
// us-gov-west-1, cn-north-1).
func awsRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for _, r := range p {
			digit, letter := r >= '0' && r <= '9', r >= 'a' && r <= 'z'
			if (i == len(parts)-1 && !digit) || (i < len(parts)-1 && !letter) {
				return false
			}
		}
	}
	return true
}

// snsURLCases are URLs each check must judge: true when SNS's own.
var snsURLCases = []struct {
	raw  string
	cert bool
	ok   bool
}{
	{testCertURL, true, true},
	{"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", true, true},
	{"https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem", true, true},
	{"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x", false, true},
	{"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x", true, false},
	{"https://sns.amazonaws.com/SimpleNotificationService-1.pem", true, false},
	{"https://sns.us-east-1.amazonaws.com.evil/x.pem", true, false},
	{"https://sns.us-east-1.amazonaws.com.cn.evil/x.pem", true, false},
	{"https://sns.us-east-1.amazonaws.com.evil.example/cert.pem", true, false},
	{"https://evilsns.us-east-1.amazonaws.com/x.pem", true, false},
	{"https://sns.evil.amazonaws.com/x.pem", true, false},
	{"https://sns.us-east-1.evil.com/x.pem", true, false},
	{"https://sns.us-east-1.amazonaws.com:8443/x.pem", true, false},
	{"https://user@sns.us-east-1.amazonaws.com/x.pem", true, false},
	{"https://evil.example\\@sns.us-east-1.amazonaws.com/x.pem", true, false},
	{"https://sns.us-east-1.amazonaws.com%2Eevil.example/x.pem", true, false},
	{"https://sns.us-east-1.amazonaws.com/x.pem.txt", true, false},
	{"http://sns.us-east-1.amazonaws.com/x.pem", true, false},
	{"ftp://sns.us-east-1.amazonaws.com/x.pem", true, false},
	{"//sns.us-east-1.amazonaws.com/x.pem", true, false},
	{"https:sns.us-east-1.amazonaws.com/x.pem", true, false},
	{"https://[::1]/x.pem", true, false},
	{"https://127.0.0.1/x.pem", true, false},
	{"https://example.com/?Action=ConfirmSubscription", false, false},
	{"", false, false},
}

func TestSNSURLReferenceAgreesWithTheRule(t *testing.T) {
	t.Parallel()
	for _, tc := range snsURLCases {
		require.Equal(t, tc.ok, snsURLReference(tc.raw, tc.cert), "reference: %s (cert %v)", tc.raw, tc.cert)
		require.Equal(t, tc.ok, nurture.CheckSNSURL(tc.raw, tc.cert) == nil, "CheckSNSURL: %s (cert %v)", tc.raw, tc.cert)
	}
	// Where CheckSNSURL is stricter than the rule, on purpose: SNS writes
	// none of these.
	for _, raw := range []string{
		"https://sns.us-east-1.amazonaws.com:443/x.pem",
		"https://SNS.US-EAST-1.AMAZONAWS.COM/x.pem",
		"https://sns.us-east-1.amazonaws.com/x.pem?x=1",
		"https://sns.us-east-1.amazonaws.com/x.pem#frag",
	} {
		require.True(t, snsURLReference(raw, true), raw)
		require.Error(t, nurture.CheckSNSURL(raw, true), raw)
	}
}

// FuzzCheckSNSURL compares CheckSNSURL with the reference: it must never
// accept a URL the reference refuses, whatever the bytes.
func FuzzCheckSNSURL(f *testing.F) {
	for _, tc := range snsURLCases {
		f.Add(tc.raw, tc.cert)
	}
	f.Add("https://sns.us-east-1.amazonaws.com:443/x.pem", true)
	f.Add("https://sns.a-b-1.amazonaws.com.cn/x.pem", true)
	f.Fuzz(func(t *testing.T, raw string, cert bool) {
		if nurture.CheckSNSURL(raw, cert) == nil && !snsURLReference(raw, cert) {
			t.Fatalf("CheckSNSURL accepts %q (cert %v), which the rule refuses", raw, cert)
		}
	})
}

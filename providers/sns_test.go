package providers_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // SNS SignatureVersion 1
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/providers"
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
		require.Equal(t, tc.ok, providers.CheckSNSURL(tc.raw, tc.cert) == nil, "CheckSNSURL: %s (cert %v)", tc.raw, tc.cert)
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
		require.Error(t, providers.CheckSNSURL(raw, true), raw)
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
		require.False(t, providers.CheckSNSURL(raw, cert) == nil && !snsURLReference(raw, cert), "CheckSNSURL accepts %q (cert %v), which the rule refuses", raw, cert)
	})
}

// ---- SNS signatures ----

// snsSigner signs SNS messages as SNS does, with a test key whose
// self-signed certificate the fetcher serves.
type snsSigner struct {
	key  *rsa.PrivateKey
	cert []byte // PEM
}

var testSNSSigner = sync.OnceValue(func() *snsSigner {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return &snsSigner{key: key, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
})

// sign fills in the signature of m (a message as SNS posts it) with the
// given version, building the canonical text independently of the code.
func (s *snsSigner) sign(t testing.TB, m map[string]string, version string) {
	t.Helper()
	fields := []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	if m["Type"] != "Notification" {
		fields = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var text strings.Builder
	for _, f := range fields {
		if v, ok := m[f]; ok {
			text.WriteString(f + "\n" + v + "\n")
		}
	}
	var digest []byte
	hash := crypto.SHA256
	if version == "1" {
		hash = crypto.SHA1
		d := sha1.Sum([]byte(text.String()))
		digest = d[:]
	} else {
		d := sha256.Sum256([]byte(text.String()))
		digest = d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, digest)
	require.NoError(t, err)
	m["SignatureVersion"] = version
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
}

const testCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"

func snsNotification() map[string]string {
	return map[string]string{
		"Type":           "Notification",
		"MessageId":      "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":       "arn:aws:sns:us-east-1:123456789012:ses-bounces",
		"Subject":        "My First Message",
		"Message":        sesBounceDoc,
		"Timestamp":      "2026-03-02T12:00:00.000Z",
		"SigningCertURL": testCertURL,
		"UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ses-bounces:c9135db0",
	}
}

// countingFetcher serves the test certificate and counts the fetches.
type countingFetcher struct {
	mu    sync.Mutex
	urls  []string
	serve []byte
}

func (f *countingFetcher) FetchCert(_ context.Context, url string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, url)
	if f.serve == nil {
		return nil, errors.New("connection refused")
	}
	return f.serve, nil
}

func parseSNS(t *testing.T, m map[string]string) *providers.SNSMessage {
	t.Helper()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	msg, err := providers.ParseSNSMessage(data)
	require.NoError(t, err)
	return msg
}

func TestSNSVerifyAcceptsSignedMessages(t *testing.T) {
	t.Parallel()
	s := testSNSSigner()
	f := &countingFetcher{serve: s.cert}
	v := providers.NewSNSVerifier(f)
	ctx := context.Background()

	for _, version := range []string{"1", "2"} {
		m := snsNotification()
		s.sign(t, m, version)
		require.NoError(t, v.Verify(ctx, parseSNS(t, m)), "version %s", version)

		noSubject := snsNotification()
		delete(noSubject, "Subject")
		s.sign(t, noSubject, version)
		require.NoError(t, v.Verify(ctx, parseSNS(t, noSubject)), "version %s without a subject", version)

		confirm := map[string]string{
			"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
			"Token":        "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
			"TopicArn":     "arn:aws:sns:us-east-1:123456789012:ses-bounces",
			"Message":      "You have chosen to subscribe to the topic arn:aws:sns:us-east-1:123456789012:ses-bounces.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
			"SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:ses-bounces&Token=2336412f37",
			"Timestamp":    "2026-03-02T12:00:00.000Z", "SigningCertURL": testCertURL,
		}
		s.sign(t, confirm, version)
		require.NoError(t, v.Verify(ctx, parseSNS(t, confirm)), "confirmation, version %s", version)
	}
	require.Equal(t, []string{testCertURL}, f.urls, "the certificate is fetched once and kept")
}

func TestSNSVerifyRejects(t *testing.T) {
	t.Parallel()
	s := testSNSSigner()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(m map[string]string) // after signing
		field  string
		fetch  bool // whether the certificate may be fetched
	}{
		{"a tampered message", func(m map[string]string) { m["Message"] = strings.Replace(m["Message"], "jane@", "john@", 1) }, "Signature", true},
		{"a tampered subject", func(m map[string]string) { m["Subject"] += "!" }, "Signature", true},
		{"a removed subject", func(m map[string]string) { delete(m, "Subject") }, "Signature", true},
		{"a changed type", func(m map[string]string) {
			m["Type"] = "UnsubscribeConfirmation"
			m["SubscribeURL"], m["Token"] = "https://sns.us-east-1.amazonaws.com/", "t"
		}, "Signature", true},
		{"a signature of another version", func(m map[string]string) { m["SignatureVersion"] = "1" }, "Signature", true},
		{"an unknown version", func(m map[string]string) { m["SignatureVersion"] = "3" }, "SignatureVersion", false},
		{"no version", func(m map[string]string) { delete(m, "SignatureVersion") }, "SignatureVersion", false},
		{"a signature that is not base64", func(m map[string]string) { m["Signature"] = "!!!" }, "Signature", false},
		{"no signature", func(m map[string]string) { delete(m, "Signature") }, "Signature", false},
		{"an http certificate URL", func(m map[string]string) { m["SigningCertURL"] = strings.Replace(testCertURL, "https:", "http:", 1) }, "SigningCertURL", false},
		{"another host", func(m map[string]string) {
			m["SigningCertURL"] = "https://attacker.example/SimpleNotificationService-1.pem"
		}, "SigningCertURL", false},
		{"a look-alike host", func(m map[string]string) {
			m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.attacker.example/SimpleNotificationService-1.pem"
		}, "SigningCertURL", false},
		{"an internal address", func(m map[string]string) { m["SigningCertURL"] = "https://169.254.169.254/latest/meta-data.pem" }, "SigningCertURL", false},
		{"a port", func(m map[string]string) { m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com:8443/x.pem" }, "SigningCertURL", false},
		{"user info", func(m map[string]string) { m["SigningCertURL"] = "https://u@sns.us-east-1.amazonaws.com/x.pem" }, "SigningCertURL", false},
		{"not a .pem", func(m map[string]string) {
			m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
		}, "SigningCertURL", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &countingFetcher{serve: s.cert}
			m := snsNotification()
			s.sign(t, m, "2")
			tc.change(m)
			err := providers.NewSNSVerifier(f).Verify(ctx, parseSNS(t, m))
			var de *nurture.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, nurture.CodeForbidden, de.Code, de.Error())
			require.Equal(t, tc.field, de.Field, de.Error())
			if !tc.fetch {
				require.Empty(t, f.urls, "nothing is fetched for a message rejected on its face")
			}
		})
	}

	t.Run("a certificate that cannot be fetched is unavailable", func(t *testing.T) {
		t.Parallel()
		m := snsNotification()
		s.sign(t, m, "2")
		err := providers.NewSNSVerifier(&countingFetcher{}).Verify(ctx, parseSNS(t, m))
		require.Equal(t, nurture.CodeUnavailable, nurture.ErrorCodeOf(err))
	})
	t.Run("another key's certificate", func(t *testing.T) {
		t.Parallel()
		other := &snsSigner{}
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		other.key = key
		m := snsNotification()
		other.sign(t, m, "2")
		err = providers.NewSNSVerifier(&countingFetcher{serve: s.cert}).Verify(ctx, parseSNS(t, m))
		require.Equal(t, nurture.CodeForbidden, nurture.ErrorCodeOf(err))
	})
	t.Run("a URL that serves no certificate", func(t *testing.T) {
		t.Parallel()
		m := snsNotification()
		s.sign(t, m, "2")
		err := providers.NewSNSVerifier(&countingFetcher{serve: []byte("<html>")}).Verify(ctx, parseSNS(t, m))
		require.Equal(t, nurture.CodeForbidden, nurture.ErrorCodeOf(err))
	})
}

func TestSNSParseMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, field string }{
		{`[]`, "body"},
		{`{"MessageId":"x","TopicArn":"t","Timestamp":"now"}`, "Type"},
		{`{"Type":"Other","MessageId":"x","TopicArn":"t","Timestamp":"now"}`, "Type"},
		{`{"Type":"Notification","TopicArn":"t","Timestamp":"now"}`, "MessageId"},
		{`{"Type":"Notification","MessageId":"x","TopicArn":"t","Timestamp":"now","Message":{}}`, "Message"},
		{`{"Type":"SubscriptionConfirmation","MessageId":"x","TopicArn":"t","Timestamp":"now"}`, "SubscribeURL"},
	} {
		_, err := providers.ParseSNSMessage([]byte(tc.body))
		require.Equal(t, tc.field, fieldOf(t, err), tc.body)
	}
}

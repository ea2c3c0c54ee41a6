package providers

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// SNSMessage is a message Amazon SNS posts to an HTTP(S) subscriber.
type SNSMessage struct {
	Type             string
	MessageID        string
	Token            string
	TopicArn         string
	Subject          *string // nil when absent, which the signature distinguishes from ""
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string
	UnsubscribeURL   string
}

// The SNS message types.
const (
	SNSNotification             = "Notification"
	SNSSubscriptionConfirmation = "SubscriptionConfirmation"
	SNSUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// ParseSNSMessage reads the JSON body SNS posts. It checks the shape only;
// SNSVerifier.Verify checks that SNS sent it.
func ParseSNSMessage(data []byte) (*SNSMessage, error) {
	var raw struct {
		Type             string  `json:"Type"`
		MessageID        string  `json:"MessageId"`
		Token            string  `json:"Token"`
		TopicArn         string  `json:"TopicArn"`
		Subject          *string `json:"Subject"`
		Message          string  `json:"Message"`
		Timestamp        string  `json:"Timestamp"`
		SignatureVersion string  `json:"SignatureVersion"`
		Signature        string  `json:"Signature"`
		SigningCertURL   string  `json:"SigningCertURL"`
		SubscribeURL     string  `json:"SubscribeURL"`
		UnsubscribeURL   string  `json:"UnsubscribeURL"`
	}
	if err := decodeStrict(data, &raw, true); err != nil {
		return nil, typeError(err, "", "body", "an Amazon SNS message (a JSON object)")
	}
	m := SNSMessage(raw)
	switch m.Type {
	case SNSNotification, SNSSubscriptionConfirmation, SNSUnsubscribeConfirmation:
	case "":
		return nil, nurture.FieldError("Type", "is required")
	default:
		return nil, nurture.FieldError("Type", "%q is not an Amazon SNS message type", m.Type)
	}
	for _, f := range []struct{ name, v string }{{"MessageId", m.MessageID}, {"TopicArn", m.TopicArn}, {"Timestamp", m.Timestamp}} {
		if f.v == "" {
			return nil, nurture.FieldError(f.name, "is required")
		}
	}
	if m.Type != SNSNotification && (m.Token == "" || m.SubscribeURL == "") {
		return nil, nurture.FieldError("SubscribeURL", "and Token are required in a %s", m.Type)
	}
	return &m, nil
}

// stringToSign is the canonical text SNS signs: name and value lines of the
// fields of the message's type, in byte order of the names.
func (m *SNSMessage) stringToSign() string {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == SNSNotification {
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != SNSNotification {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// snsHost is the host of every SNS endpoint: sns.<region>.amazonaws.com,
// or .amazonaws.com.cn in China, where a region is words and a number
// joined by hyphens (us-east-1, us-gov-west-1, cn-north-1).
var snsHost = regexp.MustCompile(`^sns\.[a-z]+(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$`)

// CheckSNSURL checks that raw is an https URL of Amazon SNS itself, so that
// neither a certificate fetch nor a subscription confirmation can be aimed
// at another host. A certificate URL must also name a .pem file.
func CheckSNSURL(raw string, cert bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return errors.New("is not an https URL")
	}
	if !snsHost.MatchString(u.Host) { // a port, an IP or another domain fails here
		return fmt.Errorf("host %q is not sns.<region>.amazonaws.com", u.Host)
	}
	if cert && (!strings.HasSuffix(u.Path, ".pem") || u.RawQuery != "") {
		return errors.New("is not the URL of a .pem certificate")
	}
	return nil
}

// CertFetcher fetches the PEM certificate at an https URL.
// SNSVerifier.Verify only hands it URLs that CheckSNSURL accepted.
type CertFetcher interface {
	FetchCert(ctx context.Context, url string) ([]byte, error)
}

// SNSVerifier checks the signatures of SNS messages, keeping the signing
// certificates it has fetched, by URL. It is safe for concurrent use.
type SNSVerifier struct {
	fetcher CertFetcher
	mu      sync.Mutex
	certs   map[string]*rsa.PublicKey
}

// maxSNSCerts bounds the cache; SNS uses a handful of certificates at a time.
const maxSNSCerts = 64

// NewSNSVerifier returns a verifier that fetches certificates with f.
func NewSNSVerifier(f CertFetcher) *SNSVerifier {
	return &SNSVerifier{fetcher: f, certs: map[string]*rsa.PublicKey{}}
}

// Verify checks that SNS signed m. A message that is not validly signed,
// or whose certificate URL is not SNS's, is forbidden (and nothing is
// fetched for it); a certificate that cannot be fetched is unavailable, so
// SNS tries again later.
func (v *SNSVerifier) Verify(ctx context.Context, m *SNSMessage) error {
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return &nurture.Error{Code: nurture.CodeForbidden, Field: "SignatureVersion", Message: fmt.Sprintf("%q is not a supported signature version (1 or 2)", m.SignatureVersion)}
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return &nurture.Error{Code: nurture.CodeForbidden, Field: "Signature", Message: "is missing or not base64"}
	}
	if err := CheckSNSURL(m.SigningCertURL, true); err != nil {
		return &nurture.Error{Code: nurture.CodeForbidden, Field: "SigningCertURL", Message: err.Error()}
	}
	key, err := v.key(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	return VerifySNSSignature(m, key, hash, sig)
}

// VerifySNSSignature checks sig, made with hash, over m's canonical text
// against key.
func VerifySNSSignature(m *SNSMessage, key *rsa.PublicKey, hash crypto.Hash, sig []byte) error {
	text := []byte(m.stringToSign())
	var digest []byte
	switch hash {
	case crypto.SHA1:
		s := sha1.Sum(text)
		digest = s[:]
	case crypto.SHA256:
		s := sha256.Sum256(text)
		digest = s[:]
	default:
		return &nurture.Error{Code: nurture.CodeForbidden, Field: "SignatureVersion", Message: "unsupported hash"}
	}
	if err := rsa.VerifyPKCS1v15(key, hash, digest, sig); err != nil {
		return &nurture.Error{Code: nurture.CodeForbidden, Field: "Signature", Message: "does not match the message"}
	}
	return nil
}

func (v *SNSVerifier) key(ctx context.Context, certURL string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	key, ok := v.certs[certURL]
	v.mu.Unlock()
	if ok {
		return key, nil
	}
	data, err := v.fetcher.FetchCert(ctx, certURL)
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeUnavailable, Message: fmt.Sprintf("fetch the SNS signing certificate: %v", err)}
	}
	key, err = parseSigningCert(data)
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeForbidden, Field: "SigningCertURL", Message: err.Error()}
	}
	v.mu.Lock()
	if len(v.certs) >= maxSNSCerts {
		clear(v.certs)
	}
	v.certs[certURL] = key
	v.mu.Unlock()
	return key, nil
}

func parseSigningCert(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("does not serve a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errors.New("serves a certificate that does not parse")
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("serves a certificate without an RSA key")
	}
	return key, nil
}

// HTTPDoer sends an HTTP request; *http.Client is one.
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// NewSNSClient returns the client to make SNS's requests with (signing
// certificates, subscription confirmations): a 10 s timeout, and no
// redirect followed, since a redirect could lead anywhere and SNS does not
// redirect.
func NewSNSClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// maxSNSFetch is the most read of an answer of SNS: a certificate is 2 KB.
const maxSNSFetch = 64 << 10

// HTTPCertFetcher fetches SNS signing certificates with Client.
type HTTPCertFetcher struct {
	Client HTTPDoer
}

// FetchCert fetches the certificate at url, at most 64 KiB of it.
func (f HTTPCertFetcher) FetchCert(ctx context.Context, url string) ([]byte, error) {
	var buf bytes.Buffer
	if err := get(ctx, f.Client, url, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ConfirmSubscription confirms the subscription a SubscriptionConfirmation
// asks for, by visiting its SubscribeURL, which must be SNS's own
// (CheckSNSURL): an error with code forbidden otherwise. Verify m first.
// When SNS cannot be reached the error has code unavailable: SNS sends the
// confirmation again.
func ConfirmSubscription(ctx context.Context, client HTTPDoer, m *SNSMessage) error {
	if err := CheckSNSURL(m.SubscribeURL, false); err != nil {
		return &nurture.Error{Code: nurture.CodeForbidden, Field: "SubscribeURL", Message: err.Error()}
	}
	if err := get(ctx, client, m.SubscribeURL, io.Discard); err != nil {
		return nurture.Errorf(nurture.CodeUnavailable, "confirm the SNS subscription: %v", err)
	}
	return nil
}

// get fetches url with a 10 s deadline, writing at most maxSNSFetch bytes
// of a 2xx answer's body to w.
func get(ctx context.Context, client HTTPDoer, url string, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", req.URL.Host, resp.Status)
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, maxSNSFetch))
	return err
}

package api_test

import (
	"bytes"
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
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/providers"
)

// hooks is a test's API with a key of scope webhooks and a fake SNS.
type hooks struct {
	*bundle
	key string
	sns *fakeSNS
}

func setupHooks(t *testing.T, configure ...func(*api.Config)) *hooks {
	t.Helper()
	fake := &fakeSNS{cert: testSigner().cert}
	b := setup(t, append([]func(*api.Config){func(c *api.Config) { c.Webhooks.SNSClient, c.Webhooks.SNSTopics = fake, []string{testTopic} }}, configure...)...)
	return &hooks{bundle: b, key: b.newKey(t, nurture.ScopeWebhooks), sns: fake}
}

func (h *hooks) post(t *testing.T, path string, body any) response {
	t.Helper()
	return h.do(t, request{path: path, body: body, key: h.key})
}

// requireRecorded fails unless the API answered 200 with these counts.
func requireRecorded(t *testing.T, res response, bounces, suppressed int) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.JSONEq(t, fmt.Sprintf(`{"success":true,"bounces":%d,"suppressed":%d}`, bounces, suppressed), string(res.body))
}

// suppressed returns why email is suppressed, or "".
func (h *hooks) suppressed(t *testing.T, email string) string {
	t.Helper()
	reason, ok, err := h.store.Suppressed(context.Background(), email)
	require.NoError(t, err)
	if !ok {
		return ""
	}
	return string(reason)
}

// softBounces returns how many soft bounces of email were counted.
func (h *hooks) softBounces(t *testing.T, email string) int {
	t.Helper()
	var n int
	err := h.pool.QueryRow(context.Background(), `SELECT coalesce((SELECT count FROM soft_bounces WHERE email_hash = $1), 0)`,
		nurture.EmailHash(email)).Scan(&n)
	require.NoError(t, err)
	return n
}

// sentMessage stores a contact and a message sent to it; it returns the
// message's id and its Message-ID header, as the worker wrote it.
func (h *hooks) sentMessage(t *testing.T, email string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	var contactID, id int64
	require.NoError(t, h.pool.QueryRow(ctx, `INSERT INTO contacts (email) VALUES ($1) RETURNING id`, email).Scan(&contactID))
	require.NoError(t, h.pool.QueryRow(ctx, `
		INSERT INTO messages (dedupe_key, contact_id, template, send_at, status, sent_at)
		VALUES ($1, $2, 'welcome', now(), 'sent', now()) RETURNING id`, "test:"+email, contactID).Scan(&id))
	ids, err := h.store.MessageIDs(ctx)
	require.NoError(t, err)
	return id, ids.Header(id, "acme.example")
}

// messageStatus returns the message's status and its last history line.
func (h *hooks) messageStatus(t *testing.T, id int64) (status, last string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT status FROM messages WHERE id = $1`, id).Scan(&status))
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT status || ': ' || detail FROM message_status_history
		WHERE message_id = $1 ORDER BY id DESC LIMIT 1`, id).Scan(&last))
	return status, last
}

// webhook reads a payload of testdata/webhooks, with old, new pairs replaced.
func webhook(t *testing.T, name string, oldnew ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	require.NoError(t, err)
	return strings.NewReplacer(oldnew...).Replace(string(data))
}

func TestWebhookAuth(t *testing.T) {
	t.Parallel()
	h := setupHooks(t)
	body := obj{"email": "ada@example.com", "type": "soft", "reason": "busy"}
	for _, tc := range []struct {
		name   string
		req    request
		status int
	}{
		{"no key", request{}, http.StatusUnauthorized},
		{"an unknown key", request{key: "nk_nosuchkey"}, http.StatusUnauthorized},
		{"an ingest key", request{key: h.ingest}, http.StatusForbidden},
		{"a webhooks key as Basic user name", request{key: h.key}, http.StatusOK},
		{"a webhooks key as Bearer token", request{key: h.key, bearer: true}, http.StatusOK},
		{"an admin key", request{key: h.admin, bearer: true}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/webhooks/bounces", "/v1/webhooks/ses", "/v1/webhooks/sendgrid", "/v1/webhooks/postmark"} {
				r := tc.req
				r.path, r.body = path, body
				res := h.do(t, r)
				if tc.status == http.StatusOK {
					require.NotEqual(t, http.StatusUnauthorized, res.status, "%s: %s", path, res.body)
					require.NotEqual(t, http.StatusForbidden, res.status, "%s: %s", path, res.body)
					continue
				}
				requireError(t, res, tc.status, "")
				if tc.status == http.StatusUnauthorized {
					require.NotEmpty(t, res.header.Get("WWW-Authenticate"), "providers send credentials after a challenge")
				}
			}
		})
	}
	t.Run("a webhooks key may do nothing else", func(t *testing.T) {
		requireError(t, h.do(t, request{path: "/v1/track", key: h.key, body: obj{"userId": "u1", "event": "x"}}), http.StatusForbidden, "")
		requireError(t, h.do(t, request{method: http.MethodGet, path: "/v1/contacts/1", key: h.key, bearer: true}), http.StatusForbidden, "")
	})
}

func TestWebhookGeneric(t *testing.T) {
	t.Parallel()
	h := setupHooks(t)
	id, header := h.sentMessage(t, "ada@example.com")

	requireRecorded(t, h.post(t, "/v1/webhooks/bounces",
		obj{"email": "ada@example.com", "type": "hard", "reason": "550 5.1.1 user unknown", "messageId": "<" + header + ">"}), 1, 1)
	require.Equal(t, "hard_bounce", h.suppressed(t, "ada@example.com"))
	status, last := h.messageStatus(t, id)
	require.Equal(t, "bounced", status)
	require.Equal(t, "bounced: hard bounce from api: 550 5.1.1 user unknown", last)

	requireRecorded(t, h.post(t, "/v1/webhooks/bounces", []obj{
		{"email": "bob@example.com", "type": "complaint"},
		{"email": "cy@example.com", "type": "soft", "reason": "mailbox full", "id": "s1"},
	}), 2, 1)
	require.Equal(t, "complaint", h.suppressed(t, "bob@example.com"))
	require.Empty(t, h.suppressed(t, "cy@example.com"))

	// Soft bounces count to the limit (3 by default); a repeated id does not count.
	for i, want := range []int{0, 0, 1} {
		suppressed := want
		requireRecorded(t, h.post(t, "/v1/webhooks/bounces", obj{"email": "cy@example.com", "type": "soft", "id": fmt.Sprint("s", i+1)}), 1, suppressed)
	}
	require.Equal(t, 3, h.softBounces(t, "cy@example.com"))
	require.Equal(t, "hard_bounce", h.suppressed(t, "cy@example.com"))

	for _, tc := range []struct {
		body  any
		field string
	}{
		{"", "body"},
		{"nonsense", "body"},
		{obj{"type": "hard"}, "email"},
		{obj{"email": "dee@example.com"}, "type"},
		{obj{"email": "dee@example.com", "type": "bounced"}, "type"},
		{obj{"email": "not an address", "type": "hard"}, "email"},
		{obj{"email": "dee@example.com", "type": "hard", "at": "yesterday"}, "at"},
		{obj{"email": "dee@example.com", "type": "hard", "emial": "x"}, "emial"},
		{[]obj{{"email": "dee@example.com", "type": "hard"}, {"email": "dee@example.com", "type": "?"}}, "[1].type"},
	} {
		requireError(t, h.post(t, "/v1/webhooks/bounces", tc.body), http.StatusBadRequest, tc.field)
	}
	require.Empty(t, h.suppressed(t, "dee@example.com"), "a rejected request records nothing, not even its valid part")
}

// A Message-ID is in every copy of the mail and in reports others see, and
// our message ids count up from 1: a bounce for some other address, or
// with a Message-ID that is not this installation's, bounces no message.
func TestWebhookBounceMarksOnlyTheRecipientsMessage(t *testing.T) {
	t.Parallel()
	h := setupHooks(t)
	id, header := h.sentMessage(t, "ada@example.com")
	status := func() (s string) {
		require.NoError(t, h.pool.QueryRow(context.Background(), `SELECT status FROM messages WHERE id = $1`, id).Scan(&s))
		return s
	}
	for _, tc := range []struct {
		name, email, messageID string
		suppressed             int
	}{
		{"another address with Ada's Message-ID", "mallory@example.com", header, 1},
		{"Ada's address with her message's id, untagged", "ada@example.com", fmt.Sprintf("nurture.%d@acme.example", id), 1},
		{"Ada's address with a forged tag", "ada@example.com", fmt.Sprintf("nurture.%d.0123456789abcdef@acme.example", id), 0},
	} {
		requireRecorded(t, h.post(t, "/v1/webhooks/bounces", obj{"email": tc.email, "type": "hard", "messageId": "<" + tc.messageID + ">"}), 1, tc.suppressed)
		require.Equal(t, "sent", status(), tc.name)
	}
	require.Equal(t, "hard_bounce", h.suppressed(t, "mallory@example.com"), "the bounce itself is still about its own address")

	// The same goes for every provider's format.
	requireRecorded(t, h.post(t, "/v1/webhooks/sendgrid", webhook(t, "sendgrid.json", "NURTURE_MESSAGE_ID", header)), 4, 3)
	require.Equal(t, "sent", status(), "SendGrid's bounce of gone@test.com")
	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", webhook(t, "postmark_bounce.json", "NURTURE_MESSAGE_ID", header)), 1, 1)
	require.Equal(t, "sent", status(), "Postmark's bounce of john@example.com")

	requireRecorded(t, h.post(t, "/v1/webhooks/bounces", obj{"email": "Ada@example.com", "type": "hard", "messageId": "<" + header + ">"}), 1, 0)
	require.Equal(t, "bounced", status(), "Ada's own bounce")
}

// A 20,000-item post once held one transaction for ten seconds: a post
// carries at most 1,000 bounces, and is refused whole past that.
func TestWebhookBounceItemLimit(t *testing.T) {
	t.Parallel()
	h := setupHooks(t)
	items := make([]obj, providers.MaxGenericBounces+1)
	for i := range items {
		items[i] = obj{"email": fmt.Sprintf("b%d@example.com", i), "type": "hard"}
	}
	res := h.post(t, "/v1/webhooks/bounces", items)
	e := requireError(t, res, http.StatusRequestEntityTooLarge, "[1000]")
	require.Contains(t, e.Error.Message, "1000")
	require.Empty(t, h.suppressed(t, "b0@example.com"), "nothing of a refused post is recorded")

	requireRecorded(t, h.post(t, "/v1/webhooks/bounces", items[:providers.MaxGenericBounces]), 1000, 1000)
	require.Equal(t, "hard_bounce", h.suppressed(t, "b999@example.com"))
}

func TestWebhookSendGrid(t *testing.T) {
	t.Parallel()
	h := setupHooks(t)
	id, header := h.sentMessage(t, "gone@test.com")
	body := webhook(t, "sendgrid.json", "NURTURE_MESSAGE_ID", header)

	requireRecorded(t, h.post(t, "/v1/webhooks/sendgrid", body), 4, 3)
	for email, want := range map[string]string{
		"gone@test.com":         "hard_bounce", // bounce
		"dropped@test.com":      "hard_bounce", // dropped: Bounced Address
		"spam@test.com":         "complaint",   // spamreport
		"blocked@test.com":      "",            // a blocked bounce is soft
		"unsubscribed@test.com": "",            // dropped for another reason
		"example@test.com":      "",            // processed, deferred, open
	} {
		require.Equal(t, want, h.suppressed(t, email), email)
	}
	require.Equal(t, 1, h.softBounces(t, "blocked@test.com"))
	status, last := h.messageStatus(t, id)
	require.Equal(t, "bounced", status)
	require.Equal(t, "bounced: hard bounce from sendgrid: 5.0.0 500 unknown recipient", last)

	// SendGrid retries the whole batch: nothing is counted twice.
	requireRecorded(t, h.post(t, "/v1/webhooks/sendgrid", body), 4, 0)
	require.Equal(t, 1, h.softBounces(t, "blocked@test.com"))

	for _, tc := range []struct{ body, field string }{
		{`{"event":"bounce"}`, "body"},
		{`[{"email":"a@example.com"}]`, "[0].event"},
		{`[{"event":"spamreport","email":"a@example.com"},{"event":"bounce","email":"nope"}]`, "[1].email"},
	} {
		requireError(t, h.post(t, "/v1/webhooks/sendgrid", tc.body), http.StatusBadRequest, tc.field)
	}
	require.Empty(t, h.suppressed(t, "a@example.com"))
}

func TestWebhookPostmark(t *testing.T) {
	t.Parallel()
	h := setupHooks(t, func(c *api.Config) { c.Webhooks.SoftBounceLimit = 2 })
	id, header := h.sentMessage(t, "john@example.com")

	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", webhook(t, "postmark_bounce.json", "NURTURE_MESSAGE_ID", header)), 1, 1)
	require.Equal(t, "hard_bounce", h.suppressed(t, "john@example.com"))
	status, last := h.messageStatus(t, id)
	require.Equal(t, "bounced", status, "found by the Message-ID in the bounce content")
	require.Equal(t, "bounced: hard bounce from postmark: smtp;550 5.1.1 The email account that you tried to reach does not exist: <recipient>", last)

	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", webhook(t, "postmark_spam_complaint.json")), 1, 1)
	require.Equal(t, "complaint", h.suppressed(t, "complainer@example.com"))

	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", webhook(t, "postmark_delivery.json")), 0, 0)

	// The limit of this API is 2; Postmark's retry of bounce 42 is not a second bounce.
	soft := webhook(t, "postmark_soft_bounce.json")
	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", soft), 1, 0)
	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", soft), 1, 0)
	require.Equal(t, 1, h.softBounces(t, "full@example.com"))
	require.Empty(t, h.suppressed(t, "full@example.com"))
	requireRecorded(t, h.post(t, "/v1/webhooks/postmark", strings.Replace(soft, `"ID": 42`, `"ID": 142`, 1)), 1, 1)
	require.Equal(t, "hard_bounce", h.suppressed(t, "full@example.com"))

	requireError(t, h.post(t, "/v1/webhooks/postmark", `{"RecordType":"Bounce","Email":"x@example.com"}`), http.StatusBadRequest, "Type")
	requireError(t, h.post(t, "/v1/webhooks/postmark", `{"RecordType":"Bounce","Type":"HardBounce","Email":"x@example.com","ID":"x"}`), http.StatusBadRequest, "ID")
}

func TestWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	// The API-wide limit (512 KiB by default) applies first; with it raised,
	// the webhooks' own limit of 1 MiB holds.
	h := setupHooks(t, func(c *api.Config) { c.MaxBodyBytes = 4 << 20 })
	events := make([]obj, 0, 8000)
	for i := 0; ; i++ {
		events = append(events, obj{"email": "a@example.com", "event": "open", "sg_event_id": fmt.Sprintf("%0100d", i)})
		if len(events)*140 > 900<<10 {
			break
		}
	}
	data, err := json.Marshal(events)
	require.NoError(t, err)
	require.Greater(t, len(data), 512<<10)
	require.Less(t, len(data), api.MaxWebhookBytes)
	requireRecorded(t, h.post(t, "/v1/webhooks/sendgrid", data), 0, 0)

	big := append(bytes.Repeat([]byte(" "), api.MaxWebhookBytes), "[]"...)
	requireError(t, h.post(t, "/v1/webhooks/sendgrid", big), http.StatusRequestEntityTooLarge, "")
	requireError(t, h.do(t, request{path: "/v1/webhooks/sendgrid", body: big, key: h.key, chunked: true}), http.StatusRequestEntityTooLarge, "")
}

// ---- Amazon SES through SNS ----

const (
	testTopic   = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
	testCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
)

type snsSigner struct {
	key  *rsa.PrivateKey
	cert []byte
}

var testSigner = sync.OnceValue(func() *snsSigner {
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

// sign signs m as SNS does: SHA1withRSA (version 1) or SHA256withRSA
// (version 2) over "name\nvalue\n" of the fields of its type.
func (s *snsSigner) sign(t *testing.T, m map[string]string, version string) map[string]string {
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
	hash, digest := crypto.SHA256, []byte(nil)
	if version == "1" {
		d := sha1.Sum([]byte(text.String()))
		hash, digest = crypto.SHA1, d[:]
	} else {
		d := sha256.Sum256([]byte(text.String()))
		digest = d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, digest)
	require.NoError(t, err)
	m["SignatureVersion"], m["Signature"] = version, base64.StdEncoding.EncodeToString(sig)
	return m
}

// notification is an SNS Notification carrying an SES notification.
func notification(ses, messageID string) map[string]string {
	return map[string]string{
		"Type": "Notification", "MessageId": messageID, "TopicArn": testTopic,
		"Message": ses, "Timestamp": "2026-03-02T12:00:00.000Z", "SigningCertURL": testCertURL,
		"UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + testTopic + ":c9135db0",
	}
}

func confirmation(subscribeURL string) map[string]string {
	return map[string]string{
		"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", "Token": "2336412f37fb687f5d51e6e241d0",
		"TopicArn": testTopic, "Message": "You have chosen to subscribe to the topic " + testTopic + ".",
		"SubscribeURL": subscribeURL, "Timestamp": "2026-03-02T12:00:00.000Z", "SigningCertURL": testCertURL,
	}
}

const subscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + testTopic + "&Token=2336412f37fb687f5d51e6e241d0"

// fakeSNS is Amazon SNS as the API's HTTP client reaches it: it serves the
// test certificate and answers subscription confirmations.
type fakeSNS struct {
	cert []byte
	down bool
	mu   sync.Mutex
	urls []string
}

func (f *fakeSNS) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.urls = append(f.urls, req.URL.String())
	f.mu.Unlock()
	answer := func(status int, body string) (*http.Response, error) {
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	}
	switch {
	case f.down:
		return nil, fmt.Errorf("dial tcp: connection refused")
	case req.Method != http.MethodGet:
		return answer(http.StatusMethodNotAllowed, "")
	case strings.HasSuffix(req.URL.Path, ".pem"):
		return answer(http.StatusOK, string(f.cert))
	case req.URL.Query().Get("Action") == "ConfirmSubscription":
		return answer(http.StatusOK, "<ConfirmSubscriptionResponse/>")
	}
	return answer(http.StatusNotFound, "")
}

func (f *fakeSNS) fetched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.urls...)
}

func TestWebhookSES(t *testing.T) {
	t.Parallel()
	s := testSigner()

	t.Run("a permanent bounce of our message", func(t *testing.T) {
		t.Parallel()
		h := setupHooks(t)
		id, header := h.sentMessage(t, "jane@example.com")
		body := s.sign(t, notification(webhook(t, "ses_bounce.json", "NURTURE_MESSAGE_ID", header), "m1"), "2")

		requireRecorded(t, h.post(t, "/v1/webhooks/ses", body), 1, 1)
		require.Equal(t, "hard_bounce", h.suppressed(t, "jane@example.com"))
		status, last := h.messageStatus(t, id)
		require.Equal(t, "bounced", status)
		require.Equal(t, "bounced: hard bounce from ses: smtp; 550 5.1.1 <<recipient>>... User", last)

		// SNS retries the same message: recorded once, the certificate fetched once.
		requireRecorded(t, h.post(t, "/v1/webhooks/ses", body), 1, 0)
		require.Equal(t, []string{testCertURL}, h.sns.fetched())
		var rows int
		require.NoError(t, h.pool.QueryRow(context.Background(), `SELECT count(*) FROM bounces`).Scan(&rows))
		require.Equal(t, 1, rows)
	})

	t.Run("a complaint, signed with version 1", func(t *testing.T) {
		t.Parallel()
		h := setupHooks(t)
		requireRecorded(t, h.post(t, "/v1/webhooks/ses", s.sign(t, notification(webhook(t, "ses_complaint.json"), "m2"), "1")), 1, 1)
		require.Equal(t, "complaint", h.suppressed(t, "richard@example.com"))
	})

	t.Run("transient bounces count to the limit", func(t *testing.T) {
		t.Parallel()
		h := setupHooks(t)
		// The third feedback is SNS's retry of the second: not counted.
		for i, feedback := range []string{"f0", "f1", "f1", "f2"} {
			m := s.sign(t, notification(webhook(t, "ses_transient.json", "FEEDBACK_ID", feedback), fmt.Sprint("m", i)), "2")
			requireRecorded(t, h.post(t, "/v1/webhooks/ses", m), 1, []int{0, 0, 0, 1}[i])
		}
		require.Equal(t, 3, h.softBounces(t, "richard@example.com"))
		require.Equal(t, "hard_bounce", h.suppressed(t, "richard@example.com"))
	})

	t.Run("a subscription is confirmed once verified", func(t *testing.T) {
		t.Parallel()
		h := setupHooks(t)
		res := h.post(t, "/v1/webhooks/ses", s.sign(t, confirmation(subscribeURL), "2"))
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.JSONEq(t, `{"success":true,"confirmed":true}`, string(res.body))
		require.Equal(t, []string{testCertURL, subscribeURL}, h.sns.fetched())

		unsubscribed := confirmation(subscribeURL)
		unsubscribed["Type"] = "UnsubscribeConfirmation"
		requireSuccess(t, h.post(t, "/v1/webhooks/ses", s.sign(t, unsubscribed, "2")))
		require.Len(t, h.sns.fetched(), 2, "an unsubscribe confirmation is only acknowledged")
	})

	t.Run("rejections", func(t *testing.T) {
		t.Parallel()
		signed := func(change func(map[string]string), after func(map[string]string)) map[string]string {
			m := notification(webhook(t, "ses_complaint.json"), "m9")
			if change != nil {
				change(m)
			}
			s.sign(t, m, "2")
			if after != nil {
				after(m)
			}
			return m
		}
		for _, tc := range []struct {
			name   string
			body   any
			key    string // the webhooks key unless said
			status int
			field  string
			fetch  []string // what the API may fetch from SNS
		}{
			{name: "no key, though signed", body: signed(nil, nil), key: "-", status: 401},
			{name: "an ingest key", body: signed(nil, nil), key: "ingest", status: 403},
			{name: "a tampered message", body: signed(nil, func(m map[string]string) {
				m["Message"] = strings.Replace(m["Message"], "richard@", "someone@", 1)
			}), status: 403, field: "Signature", fetch: []string{testCertURL}},
			{name: "an unsigned message", body: notification(webhook(t, "ses_complaint.json"), "m9"), status: 403, field: "SignatureVersion"},
			{name: "an unknown signature version", body: signed(nil, func(m map[string]string) { m["SignatureVersion"] = "9" }), status: 403, field: "SignatureVersion"},
			{name: "an http certificate URL", body: signed(func(m map[string]string) {
				m["SigningCertURL"] = strings.Replace(testCertURL, "https:", "http:", 1)
			}, nil), status: 403, field: "SigningCertURL"},
			{name: "a certificate elsewhere", body: signed(func(m map[string]string) {
				m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"
			}, nil), status: 403, field: "SigningCertURL"},
			{name: "a signed confirmation to another host", body: s.sign(t, confirmation("https://evil.example/?Action=ConfirmSubscription"), "2"),
				status: 403, field: "SubscribeURL", fetch: []string{testCertURL}},
			{name: "an unsigned confirmation", body: func() map[string]string {
				m := s.sign(t, confirmation(subscribeURL), "2")
				m["Token"] += "x"
				return m
			}(), status: 403, field: "Signature", fetch: []string{testCertURL}},
			{name: "not JSON", body: "Type=Notification", status: 400, field: "body"},
			{name: "no type", body: obj{"MessageId": "m", "TopicArn": testTopic, "Timestamp": "x"}, status: 400, field: "Type"},
			{name: "a signed message that is not an SES notification", body: s.sign(t, notification(`{"notificationType":"Bounce"}`, "m8"), "2"),
				status: 400, field: "Message.bounce", fetch: []string{testCertURL}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				h := setupHooks(t)
				key := map[string]string{"": h.key, "-": "", "ingest": h.ingest}[tc.key]
				res := h.do(t, request{path: "/v1/webhooks/ses", body: tc.body, key: key})
				requireError(t, res, tc.status, tc.field)
				require.Equal(t, tc.fetch, h.sns.fetched(), "nothing but the certificate of a well-formed message is fetched")
				require.Empty(t, h.suppressed(t, "richard@example.com"))
			})
		}
	})

	// Any AWS account can subscribe our URL to a topic of its own and sign
	// its messages validly: only the topics the operator listed count.
	for name, topics := range map[string][]string{
		"another account's topic": {"arn:aws:sns:us-east-1:123456789012:mine"},
		"no topic listed":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := setupHooks(t, func(c *api.Config) { c.Webhooks.SNSTopics = topics })
			requireError(t, h.post(t, "/v1/webhooks/ses", s.sign(t, confirmation(subscribeURL), "2")), http.StatusForbidden, "TopicArn")
			requireError(t, h.post(t, "/v1/webhooks/ses", s.sign(t, notification(webhook(t, "ses_complaint.json"), "m1"), "2")),
				http.StatusForbidden, "TopicArn")
			require.Empty(t, h.sns.fetched(), "the subscription is not confirmed, and no certificate is fetched")
			require.Empty(t, h.suppressed(t, "richard@example.com"))
		})
	}

	t.Run("SNS unreachable", func(t *testing.T) {
		t.Parallel()
		h := setupHooks(t)
		h.sns.down = true
		requireError(t, h.post(t, "/v1/webhooks/ses", s.sign(t, notification(webhook(t, "ses_complaint.json"), "m1"), "2")),
			http.StatusServiceUnavailable, "")
	})
}

package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
)

// MaxWebhookBytes is the largest webhook body: providers batch their events.
const MaxWebhookBytes = 1 << 20

// DefaultSoftBounceLimit is how many soft bounces suppress an address when
// Config.SoftBounceLimit does not say.
const DefaultSoftBounceLimit = 3

// BounceStore records the bounces and complaints the providers report.
type BounceStore interface {
	// RecordBounces records bounces, suppressing addresses as they call for
	// (a soft bounce when it is the softLimit-th of its address), and
	// returns how many addresses it newly suppressed. Recording the same
	// provider event again changes nothing.
	RecordBounces(ctx context.Context, bounces []nurture.Bounce, softLimit int) (suppressed int, err error)
}

// HTTPDoer sends an HTTP request; *http.Client is one.
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// webhookHandler serves /v1/webhooks/...: the generic bounce endpoint and
// the native formats of Amazon SES (through SNS), SendGrid and Postmark.
type webhookHandler struct {
	cfg       *Config
	store     BounceStore
	softLimit int
	client    HTTPDoer // requests to SNS: certificates and subscription confirmations
	sns       *nurture.SNSVerifier
	topics    map[string]bool // SNS topics accepted; empty: none
}

// newWebhookHandler applies the defaults of the webhook settings of Config.
func (a *API) newWebhookHandler() *webhookHandler {
	h := &webhookHandler{cfg: &a.cfg, store: a.cfg.Bounces, softLimit: a.cfg.SoftBounceLimit, client: a.cfg.SNSClient}
	if h.store == nil {
		// cmd passes one store for everything; it records bounces too.
		h.store, _ = a.cfg.Store.(BounceStore)
	}
	if h.softLimit <= 0 {
		h.softLimit = DefaultSoftBounceLimit
	}
	if h.client == nil {
		h.client = &http.Client{
			Timeout: 10 * time.Second,
			// A redirect could lead anywhere; SNS does not redirect.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	h.sns = nurture.NewSNSVerifier(snsCertFetcher{client: h.client})
	h.topics = make(map[string]bool, len(a.cfg.SNSTopics))
	for _, t := range a.cfg.SNSTopics {
		h.topics[t] = true
	}
	return h
}

// generic serves POST /v1/webhooks/bounces: {"email","type","reason"} or an
// array of them, for relays without a native format here.
func (h *webhookHandler) generic(c *gin.Context) { h.receive(c, nurture.ParseGenericBounces) }

// sendgrid serves POST /v1/webhooks/sendgrid: SendGrid's Event Webhook.
func (h *webhookHandler) sendgrid(c *gin.Context) { h.receive(c, nurture.ParseSendGridEvents) }

// postmark serves POST /v1/webhooks/postmark: Postmark's bounce and spam
// complaint webhooks (other record types are acknowledged and ignored).
func (h *webhookHandler) postmark(c *gin.Context) { h.receive(c, nurture.ParsePostmark) }

func (h *webhookHandler) receive(c *gin.Context, parse func([]byte) ([]nurture.Bounce, error)) {
	data, err := readBody(c.Request, MaxWebhookBytes)
	if err != nil {
		fail(c, err)
		return
	}
	bounces, err := parse(data)
	if err != nil {
		fail(c, err)
		return
	}
	h.record(c, bounces)
}

// record stores the bounces and answers with how many there were and how
// many addresses they suppressed.
func (h *webhookHandler) record(c *gin.Context, bounces []nurture.Bounce) {
	if h.store == nil {
		fail(c, nurture.Errorf(nurture.CodeUnavailable, "bounce intake is not configured"))
		return
	}
	suppressed := 0
	if len(bounces) > 0 {
		now := h.cfg.Clock.Now()
		for i := range bounces {
			if bounces[i].At.IsZero() {
				bounces[i].At = now
			}
		}
		var err error
		suppressed, err = h.store.RecordBounces(c.Request.Context(), bounces, h.softLimit)
		if err != nil {
			fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "bounces": len(bounces), "suppressed": suppressed})
}

// ses serves POST /v1/webhooks/ses: the messages of an SNS topic that SES
// publishes bounces and complaints to. The topic must be one of
// Config.SNSTopics (with none, every message is refused): a valid SNS
// signature only proves that some AWS account's topic sent it, and anyone
// can subscribe our URL to a topic of their own. Every message must carry
// SNS's signature; a subscription confirmation is confirmed, once verified.
// Nothing is fetched for a message of another topic.
func (h *webhookHandler) ses(c *gin.Context) {
	data, err := readBody(c.Request, MaxWebhookBytes)
	if err != nil {
		fail(c, err)
		return
	}
	m, err := nurture.ParseSNSMessage(data)
	if err != nil {
		fail(c, err)
		return
	}
	if len(h.topics) == 0 {
		fail(c, &nurture.Error{Code: nurture.CodeForbidden, Field: "TopicArn",
			Message: "is not accepted: this installation lists no SNS topic for Amazon SES notifications yet"})
		return
	}
	if !h.topics[m.TopicArn] {
		fail(c, &nurture.Error{Code: nurture.CodeForbidden, Field: "TopicArn", Message: "is not a topic this endpoint accepts"})
		return
	}
	if err := h.sns.Verify(c.Request.Context(), m); err != nil {
		fail(c, err)
		return
	}
	switch m.Type {
	case nurture.SNSSubscriptionConfirmation:
		h.confirm(c, m)
	case nurture.SNSUnsubscribeConfirmation:
		h.cfg.Logger.Info("SNS subscription ended", "topic", m.TopicArn)
		c.JSON(http.StatusOK, gin.H{"success": true})
	default:
		bounces, err := nurture.ParseSESNotification([]byte(m.Message))
		if err != nil {
			fail(c, inMessage(err))
			return
		}
		h.record(c, bounces)
	}
}

// confirm visits the SubscribeURL of a verified confirmation message, which
// must be SNS's own.
func (h *webhookHandler) confirm(c *gin.Context, m *nurture.SNSMessage) {
	if err := nurture.CheckSNSURL(m.SubscribeURL, false); err != nil {
		fail(c, &nurture.Error{Code: nurture.CodeForbidden, Field: "SubscribeURL", Message: err.Error()})
		return
	}
	if err := get(c.Request.Context(), h.client, m.SubscribeURL, 64<<10, io.Discard); err != nil {
		// Unavailable: SNS sends the confirmation again.
		fail(c, nurture.Errorf(nurture.CodeUnavailable, "confirm the SNS subscription: %v", err))
		return
	}
	h.cfg.Logger.Info("SNS subscription confirmed", "topic", m.TopicArn)
	c.JSON(http.StatusOK, gin.H{"success": true, "confirmed": true})
}

// inMessage names the fields of an SES notification's error as fields of
// the SNS message's Message.
func inMessage(err error) error {
	var de *nurture.Error
	if !errors.As(err, &de) || de.Field == "" {
		return err
	}
	e := *de
	if e.Field == "body" {
		e.Field = "Message"
	} else {
		e.Field = "Message." + e.Field
	}
	return &e
}

// snsCertFetcher fetches SNS signing certificates over HTTPS.
type snsCertFetcher struct {
	client HTTPDoer
}

func (f snsCertFetcher) FetchCert(ctx context.Context, url string) ([]byte, error) {
	var buf bytes.Buffer
	if err := get(ctx, f.client, url, 64<<10, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// get fetches url with a 10 s deadline, writing at most limit bytes of a
// 2xx answer's body to w.
func get(ctx context.Context, client HTTPDoer, url string, limit int, w io.Writer) error {
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
	_, err = io.Copy(w, io.LimitReader(resp.Body, int64(limit)))
	return err
}

package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/providers"
)

// MaxWebhookBytes is the largest webhook body: providers batch their events.
const MaxWebhookBytes = 1 << 20

// DefaultSoftBounceLimit is how many soft bounces suppress an address when
// Webhooks.SoftBounceLimit does not say.
const DefaultSoftBounceLimit = 3

// Webhooks is what the webhook endpoints need: they take the bounces and
// complaints of the mail providers, in the generic format or the providers'
// own (read by package providers), and answer keys of scope webhooks.
type Webhooks struct {
	Bounces BounceStore // required
	// SoftBounceLimit is how many soft bounces suppress an address; default 3.
	SoftBounceLimit int
	// SNSTopics are the SNS topic ARNs whose messages /v1/webhooks/ses
	// accepts; with none it refuses every message (403).
	SNSTopics []string
	// SNSClient makes the requests to Amazon SNS: signing certificates and
	// subscription confirmations. Default: providers.NewSNSClient().
	SNSClient providers.HTTPDoer
}

// BounceStore records the bounces and complaints the providers report.
type BounceStore interface {
	// RecordBounces records bounces, suppressing addresses as they call for
	// (a soft bounce when it is the softLimit-th of its address), and
	// returns how many addresses it newly suppressed. Recording the same
	// provider event again changes nothing.
	RecordBounces(ctx context.Context, bounces []nurture.Bounce, softLimit int) (suppressed int, err error)
}

// webhookHandler serves /v1/webhooks/...: the generic bounce endpoint and
// the native formats of Amazon SES (through SNS), SendGrid and Postmark.
type webhookHandler struct {
	store     BounceStore
	softLimit int
	client    providers.HTTPDoer // requests to SNS: certificates and subscription confirmations
	sns       *providers.SNSVerifier
	topics    map[string]bool // SNS topics accepted; empty: none
	clock     nurture.Clock
	log       *slog.Logger
	// recorded is told of the bounces recorded (API.observeBounces); nil: nobody is.
	recorded func([]nurture.Bounce)
}

// newWebhookHandler applies the defaults of the settings of w.
func newWebhookHandler(w *Webhooks, clock nurture.Clock, log *slog.Logger) *webhookHandler {
	h := &webhookHandler{store: w.Bounces, softLimit: w.SoftBounceLimit, client: w.SNSClient, clock: clock, log: log}
	if h.softLimit <= 0 {
		h.softLimit = DefaultSoftBounceLimit
	}
	if h.client == nil {
		h.client = providers.NewSNSClient()
	}
	h.sns = providers.NewSNSVerifier(providers.HTTPCertFetcher{Client: h.client})
	h.topics = make(map[string]bool, len(w.SNSTopics))
	for _, t := range w.SNSTopics {
		h.topics[t] = true
	}
	return h
}

// generic serves POST /v1/webhooks/bounces: {"email","type","reason"} or an
// array of them, for relays without a native format here.
func (h *webhookHandler) generic(c *gin.Context) { h.receive(c, providers.ParseGenericBounces) }

// sendgrid serves POST /v1/webhooks/sendgrid: SendGrid's Event Webhook.
func (h *webhookHandler) sendgrid(c *gin.Context) { h.receive(c, providers.ParseSendGridEvents) }

// postmark serves POST /v1/webhooks/postmark: Postmark's bounce and spam
// complaint webhooks (other record types are acknowledged and ignored).
func (h *webhookHandler) postmark(c *gin.Context) { h.receive(c, providers.ParsePostmark) }

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
	suppressed := 0
	if len(bounces) > 0 {
		now := h.clock.Now()
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
		if h.recorded != nil {
			h.recorded(bounces)
		}
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "bounces": len(bounces), "suppressed": suppressed})
}

// ses serves POST /v1/webhooks/ses: the messages of an SNS topic that SES
// publishes bounces and complaints to. The topic must be one of
// Webhooks.SNSTopics (with none, every message is refused): a valid SNS
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
	m, err := providers.ParseSNSMessage(data)
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
	ctx := c.Request.Context()
	if err := h.sns.Verify(ctx, m); err != nil {
		fail(c, err)
		return
	}
	switch m.Type {
	case providers.SNSSubscriptionConfirmation:
		if err := providers.ConfirmSubscription(ctx, h.client, m); err != nil {
			fail(c, err)
			return
		}
		h.log.Info("SNS subscription confirmed", "topic", m.TopicArn)
		c.JSON(http.StatusOK, gin.H{"success": true, "confirmed": true})
	case providers.SNSUnsubscribeConfirmation:
		h.log.Info("SNS subscription ended", "topic", m.TopicArn)
		c.JSON(http.StatusOK, gin.H{"success": true})
	default:
		bounces, err := m.SESBounces()
		if err != nil {
			fail(c, err)
			return
		}
		h.record(c, bounces)
	}
}

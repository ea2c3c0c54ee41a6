// Package providers reads what mail providers report about the mail they
// could not deliver: Amazon SES notifications inside Amazon SNS messages
// (with SNS's signature checked), SendGrid's Event Webhook, Postmark's
// bounce and spam complaint webhooks, and Nurture's own generic bounce
// format. Every parser turns a provider's fields into nurture.Bounce values
// (made with Bounce.Normalize), so that nothing past this package knows
// how Amazon, SendGrid or Postmark spell things.
//
// It is an adapter: it imports the domain and the standard library only,
// and knows nothing of HTTP servers, queues or the store. Its errors are
// *nurture.Error values whose Field is spelled as the provider spells it
// ("bounce.bouncedRecipients[0].emailAddress", "[3].email"), for the API to
// pass on.
package providers

// The names of the formats, as Bounce.Provider records them.
const (
	Generic  = "api"
	SES      = "ses"
	SendGrid = "sendgrid"
	Postmark = "postmark"
)

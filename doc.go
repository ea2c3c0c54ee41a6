// Package nurture holds the domain of the Nurture lifecycle email engine:
// contacts, events, messages, the error type shared by every layer, and the
// small interfaces (such as Clock) that the adapters are written against.
//
// It imports nothing of ours and no infrastructure: no gin, asynq, pgx or
// go-mail, and no outside wire format: the adapters that speak one (api for
// Segment's calls, providers for the mail providers' webhooks, mailer for
// SMTP) hand this package its own values. Adapters live in their own
// packages (postgres, mailer, providers, api, worker, jobs, templates) and
// depend on this one, never the reverse.
package nurture

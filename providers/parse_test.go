package providers_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/providers"
)

// Payloads shaped as the providers' documentation shows them.
const (
	sesBounceDoc = `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","reportingMTA":"dns; email.example.com",
		"bouncedRecipients":[{"emailAddress":"jane@example.com","status":"5.1.1","action":"failed",
		"diagnosticCode":"smtp; 550 5.1.1 <jane@example.com>... User"}],"bounceSubType":"General",
		"timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
		"remoteMtaIp":"127.0.2.0"},"mail":{"timestamp":"2016-01-27T14:59:38.237Z","source":"john@example.com",
		"sourceArn":"arn:aws:ses:us-east-1:888888888888:identity/example.com","sourceIp":"127.0.3.0",
		"sendingAccountId":"123456789012","messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
		"destination":["jane@example.com","mary@example.com"],"headersTruncated":false,
		"headers":[{"name":"From","value":"\"John Doe\" <john@example.com>"},{"name":"Message-ID","value":"<nurture.42@acme.example>"}],
		"commonHeaders":{"from":["John Doe <john@example.com>"],"date":"Wed, 27 Jan 2016 14:05:45 +0000",
		"to":["Jane Doe <jane@example.com>"],"messageId":"<nurture.42@acme.example>","subject":"Hello"}}}`
	sesTransientDoc = `{"notificationType":"Bounce","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull",
		"bouncedRecipients":[{"emailAddress":"richard@example.com"}],"timestamp":"2016-01-27T14:59:38.237Z",
		"feedbackId":"0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000"},
		"mail":{"timestamp":"2016-01-27T14:59:38.237Z","messageId":"0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
		"source":"john@example.com","destination":["richard@example.com"]}}`
	sesComplaintDoc = `{"notificationType":"Complaint","complaint":{"userAgent":"AnyCompany Feedback Loop (V0.01)",
		"complainedRecipients":[{"emailAddress":"richard@example.com"}],"complaintFeedbackType":"abuse",
		"arrivalDate":"2016-01-27T14:59:38.237Z","timestamp":"2016-01-27T14:59:38.237Z",
		"feedbackId":"000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},
		"mail":{"timestamp":"2016-01-27T14:59:38.237Z","messageId":"000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
		"source":"john@example.com","destination":["richard@example.com"],"headersTruncated":false,
		"headers":[{"name":"Message-ID","value":"<nurture.7@acme.example>"}],"commonHeaders":{"subject":"Hello"}}}`
	sesDeliveryDoc = `{"notificationType":"Delivery","mail":{"timestamp":"2016-01-27T14:59:38.237Z","messageId":"x",
		"destination":["jane@example.com"]},"delivery":{"timestamp":"2016-01-27T14:59:38.237Z",
		"recipients":["jane@example.com"],"processingTimeMillis":546,"smtpResponse":"250 ok"}}`
	sendGridDoc = `[
		{"email":"example@test.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed",
		 "category":"cat facts","sg_event_id":"sg_event_id","sg_message_id":"sg_message_id"},
		{"email":"example@test.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"deferred",
		 "category":"cat facts","sg_event_id":"sg_event_id","sg_message_id":"sg_message_id","response":"400 try again later","attempt":"5"},
		{"email":"bounced@test.com","timestamp":1513299569,"smtp-id":"<nurture.9@acme.example>","event":"bounce",
		 "category":["cat facts","dogs"],"sg_event_id":"ev-bounce","sg_message_id":"sg_message_id","reason":"500 unknown recipient",
		 "status":"5.0.0","type":"bounce","bounce_classification":"Invalid Address"},
		{"email":"blocked@test.com","timestamp":1513299569,"event":"bounce","sg_event_id":"ev-blocked",
		 "reason":"550 blocked by policy","status":"5.7.1","type":"blocked"},
		{"email":"dropped@test.com","timestamp":1513299569,"event":"dropped","sg_event_id":"ev-dropped",
		 "reason":"Bounced Address","status":"5.0.0"},
		{"email":"unsub@test.com","timestamp":1513299569,"event":"dropped","sg_event_id":"ev-unsub",
		 "reason":"Unsubscribed Address","status":"5.0.0"},
		{"email":"spam@test.com","timestamp":1513299569,"event":"spamreport","sg_event_id":"ev-spam","sg_message_id":"sg_message_id"},
		{"email":"example@test.com","timestamp":1513299569,"event":"open","sg_event_id":"ev-open","useragent":"Mozilla/4.0","ip":"255.255.255.255"}
	]`
	postmarkBounceDoc = `{"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,"Type":"HardBounce",
		"TypeCode":1,"Name":"Hard bounce","Tag":"Test","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483",
		"Metadata":{"a_key":"a_value"},"ServerID":23,"Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).",
		"Details":"Test bounce details","Email":"john@example.com","From":"sender@example.com",
		"BouncedAt":"2019-11-05T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,"Subject":"Test subject",
		"Content":"Return-Path: <>\r\nMessage-ID: <dsn-1@mx.example.com>\r\n\r\n--b\r\nMessage-ID: <nurture.31@acme.example>\r\nSubject: Hi\r\n"}`
	postmarkComplaintDoc = `{"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,"Type":"SpamComplaint","TypeCode":512,
		"Name":"Spam complaint","Tag":"Test","MessageID":"00000000-0000-0000-0000-000000000000","Metadata":{"a_key":"a_value"},
		"ServerID":1234,"Description":"","Details":"Test spam complaint details","Email":"john@example.com","From":"sender@example.com",
		"BouncedAt":"2019-11-05T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":false,"Subject":"Test subject","Content":"<Abuse report dump content>"}`
	postmarkLegacyDoc = `{"ID":42,"Type":"SoftBounce","TypeCode":4096,"Name":"Soft bounce","Tag":"Test",
		"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Description":"The server could not temporarily deliver your message.",
		"Details":"Test bounce details","Email":"john@example.com","BouncedAt":"2014-08-01T13:28:10.2735393-04:00",
		"DumpAvailable":true,"Inactive":false,"CanActivate":true,"Subject":"Test subject","Metadata":{"user_id":43}}`
	postmarkDeliveryDoc = `{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"00000000-0000-0000-0000-000000000000",
		"Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"2019-11-05T16:33:54.9070259Z","Details":"Test delivery webhook details","Metadata":{"a_key":"a_value"}}`
)

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var de *nurture.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, nurture.CodeInvalid, de.Code)
	return de.Field
}

func TestBounceParseGeneric(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	good := []struct {
		name string
		body string
		want []nurture.Bounce
	}{
		{"one object", `{"email":"Ada@Example.COM","type":"hard","reason":"550 5.1.1 Ada@example.com unknown"}`,
			[]nurture.Bounce{{Email: "Ada@example.com", Type: nurture.BounceHard, Reason: "550 5.1.1 <recipient> unknown", Provider: "api"}}},
		{"an array with the optional fields", `[{"email":"a@example.com","type":"soft"},
			{"email":"b@example.com","type":"COMPLAINT","messageId":"<nurture.5@acme.example>","at":"2026-03-02T12:00:00Z","id":"e1"}]`,
			[]nurture.Bounce{{Email: "a@example.com", Type: nurture.BounceSoft, Provider: "api"},
				{Email: "b@example.com", Type: nurture.BounceComplaint, MessageID: "nurture.5@acme.example", At: at, Provider: "api", EventID: "e1"}}},
		{"a display name is dropped", `{"email":"Ada <ada@example.com>","type":"hard"}`,
			[]nurture.Bounce{{Email: "ada@example.com", Type: nurture.BounceHard, Provider: "api"}}},
		{"an empty array", `[]`, []nurture.Bounce{}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := providers.ParseGenericBounces([]byte(tc.body))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	bad := []struct{ body, field string }{
		{``, "body"},
		{`"hard"`, "body"},
		{`{"type":"hard"}`, "email"},
		{`{"email":"a@example.com"}`, "type"},
		{`{"email":"a@example.com","type":"bounce"}`, "type"},
		{`{"email":"not an address","type":"hard"}`, "email"},
		{`{"email":42,"type":"hard"}`, "email"},
		{`{"email":"a@example.com","type":"hard","at":"yesterday"}`, "at"},
		{`{"email":"a@example.com","type":"hard","tpye":"soft"}`, "tpye"},
		{`[{"email":"a@example.com","type":"hard"},{"email":"","type":"hard"}]`, "[1].email"},
		{`[{"email":"a@example.com","type":"hard"},"x"]`, "[1]"},
		{`{"email":"a@example.com","type":"hard"} {}`, "body"},
		{`{"email":"a@example.com","type":"hard"}]`, "body"},
	}
	for _, tc := range bad {
		t.Run("rejects "+tc.body, func(t *testing.T) {
			_, err := providers.ParseGenericBounces([]byte(tc.body))
			require.Error(t, err)
			require.Equal(t, tc.field, fieldOf(t, err))
		})
	}
}

func TestBounceParseSES(t *testing.T) {
	t.Parallel()
	at := time.Date(2016, 1, 27, 14, 59, 38, 237e6, time.UTC)
	for _, tc := range []struct {
		name, body string
		want       []nurture.Bounce
	}{
		{"permanent is hard, with our Message-ID", sesBounceDoc, []nurture.Bounce{{Email: "jane@example.com", Type: nurture.BounceHard,
			Reason: "smtp; 550 5.1.1 <<recipient>>... User", MessageID: "nurture.42@acme.example", At: at, Provider: "ses",
			EventID: "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000"}}},
		{"transient is soft", sesTransientDoc, []nurture.Bounce{{Email: "richard@example.com", Type: nurture.BounceSoft,
			Reason: "Transient MailboxFull", At: at, Provider: "ses", EventID: "0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000"}}},
		{"complaint, Message-ID from the raw headers", sesComplaintDoc, []nurture.Bounce{{Email: "richard@example.com",
			Type: nurture.BounceComplaint, Reason: "complaint: abuse", MessageID: "nurture.7@acme.example", At: at, Provider: "ses",
			EventID: "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"}}},
		{"a delivery is nothing", sesDeliveryDoc, nil},
		{"a not-spam report is nothing", strings.Replace(sesComplaintDoc, `"abuse"`, `"not-spam"`, 1), nil},
		{"event publishing names the type eventType", strings.Replace(sesTransientDoc, `"notificationType"`, `"eventType"`, 1),
			[]nurture.Bounce{{Email: "richard@example.com", Type: nurture.BounceSoft, Reason: "Transient MailboxFull", At: at,
				Provider: "ses", EventID: "0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := providers.ParseSESNotification([]byte(tc.body))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct{ body, field string }{
		{`[]`, "body"},
		{`{"mail":{}}`, "notificationType"},
		{`{"notificationType":"Bounce"}`, "bounce"},
		{`{"notificationType":"Bounce","bounce":{"bouncedRecipients":[{"emailAddress":"a@example.com"}]}}`, "bounce.bounceType"},
		{`{"notificationType":"Bounce","bounce":{"bounceType":"Sometimes","bouncedRecipients":[{"emailAddress":"a@example.com"}]}}`, "bounce.bounceType"},
		{`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[]}}`, "bounce.bouncedRecipients"},
		{`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@example.com"},{"emailAddress":"nope"}]}}`,
			"bounce.bouncedRecipients[1].emailAddress"},
		{`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","timestamp":"soon","bouncedRecipients":[{"emailAddress":"a@example.com"}]}}`, "bounce.timestamp"},
		{`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":7}]}}`, "complaint.complainedRecipients.emailAddress"},
	} {
		t.Run("rejects "+tc.body, func(t *testing.T) {
			_, err := providers.ParseSESNotification([]byte(tc.body))
			require.Equal(t, tc.field, fieldOf(t, err))
		})
	}
}

func TestBounceParseSendGrid(t *testing.T) {
	t.Parallel()
	at := time.Unix(1513299569, 0).UTC()
	got, err := providers.ParseSendGridEvents([]byte(sendGridDoc))
	require.NoError(t, err)
	require.Equal(t, []nurture.Bounce{
		{Email: "bounced@test.com", Type: nurture.BounceHard, Reason: "5.0.0 500 unknown recipient", MessageID: "nurture.9@acme.example",
			At: at, Provider: "sendgrid", EventID: "ev-bounce"},
		{Email: "blocked@test.com", Type: nurture.BounceSoft, Reason: "5.7.1 550 blocked by policy", At: at, Provider: "sendgrid", EventID: "ev-blocked"},
		{Email: "dropped@test.com", Type: nurture.BounceHard, Reason: "dropped: Bounced Address", At: at, Provider: "sendgrid", EventID: "ev-dropped"},
		{Email: "spam@test.com", Type: nurture.BounceComplaint, Reason: "spam report", At: at, Provider: "sendgrid", EventID: "ev-spam"},
	}, got, "processed, deferred, open and an unsubscribed drop say nothing about the address")

	for _, tc := range []struct{ body, field string }{
		{`{"event":"bounce"}`, "body"},
		{`[1]`, "[0]"},
		{`[{"email":"a@example.com"}]`, "[0].event"},
		{`[{"event":"open"},{"event":"bounce","email":""}]`, "[1].email"},
		{`[{"event":"bounce","email":"a@example.com","timestamp":"yesterday"}]`, "[0].timestamp"},
		{`[{"event":"bounce","email":"a@example.com","timestamp":-5}]`, "[0].timestamp"},
	} {
		t.Run("rejects "+tc.body, func(t *testing.T) {
			_, err := providers.ParseSendGridEvents([]byte(tc.body))
			require.Equal(t, tc.field, fieldOf(t, err))
		})
	}
}

func TestBounceParsePostmark(t *testing.T) {
	t.Parallel()
	at := time.Date(2019, 11, 5, 16, 33, 54, 907025900, time.UTC)
	for _, tc := range []struct {
		name, body string
		want       []nurture.Bounce
	}{
		{"hard bounce, our Message-ID from the dump", postmarkBounceDoc, []nurture.Bounce{{Email: "john@example.com", Type: nurture.BounceHard,
			Reason: "Test bounce details", MessageID: "nurture.31@acme.example", At: at, Provider: "postmark", EventID: "4323372036854775807"}}},
		{"spam complaint", postmarkComplaintDoc, []nurture.Bounce{{Email: "john@example.com", Type: nurture.BounceComplaint,
			Reason: "Test spam complaint details", At: at, Provider: "postmark", EventID: "42"}}},
		{"a bounce without RecordType", postmarkLegacyDoc, []nurture.Bounce{{Email: "john@example.com", Type: nurture.BounceSoft,
			Reason: "Test bounce details", At: time.Date(2014, 8, 1, 13, 28, 10, 273539300, time.FixedZone("", -4*3600)),
			Provider: "postmark", EventID: "42"}}},
		{"a delivery is nothing", postmarkDeliveryDoc, nil},
		{"an auto-responder is nothing", strings.Replace(postmarkBounceDoc, `"HardBounce"`, `"AutoResponder"`, 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := providers.ParsePostmark([]byte(tc.body))
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i := range got {
				require.True(t, tc.want[i].At.Equal(got[i].At), "at %v, want %v", got[i].At, tc.want[i].At)
				got[i].At = tc.want[i].At
			}
			require.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct{ body, field string }{
		{`[]`, "body"},
		{`{"RecordType":"Bounce","Email":"a@example.com"}`, "Type"},
		{`{"RecordType":"Bounce","Type":"HardBounce"}`, "Email"},
		{`{"RecordType":"Bounce","Type":"HardBounce","Email":"a@example.com","ID":"x"}`, "ID"},
		{`{"RecordType":"Bounce","Type":"HardBounce","Email":"a@example.com","BouncedAt":"today"}`, "BouncedAt"},
	} {
		t.Run("rejects "+tc.body, func(t *testing.T) {
			_, err := providers.ParsePostmark([]byte(tc.body))
			require.Equal(t, tc.field, fieldOf(t, err))
		})
	}
}

func TestBouncePostsHaveALimitOfItems(t *testing.T) {
	t.Parallel()
	items := func(n int, item string) []byte {
		return []byte("[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]")
	}
	generic := `{"email":"a@example.com","type":"soft"}`
	got, err := providers.ParseGenericBounces(items(providers.MaxGenericBounces, generic))
	require.NoError(t, err)
	require.Len(t, got, providers.MaxGenericBounces)
	_, err = providers.ParseGenericBounces(items(providers.MaxGenericBounces+1, generic))
	requireTooLarge(t, err, "[1000]")

	event := `{"event":"bounce","email":"a@example.com"}`
	got, err = providers.ParseSendGridEvents(items(providers.MaxSendGridEvents, event))
	require.NoError(t, err)
	require.Len(t, got, providers.MaxSendGridEvents)
	_, err = providers.ParseSendGridEvents(items(providers.MaxSendGridEvents+1, `{"event":"open"}`))
	requireTooLarge(t, err, "[10000]")
}

func requireTooLarge(t *testing.T, err error, field string) {
	t.Helper()
	var de *nurture.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, nurture.CodeTooLarge, de.Code)
	require.Equal(t, field, de.Field)
}

func TestBounceReasonIsClippedAndValid(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", nurture.MaxBounceReason) // two bytes each
	got, err := providers.ParseGenericBounces([]byte(`{"email":"a@example.com","type":"hard","reason":"` + long + `\u0000"}`))
	require.NoError(t, err)
	require.LessOrEqual(t, len(got[0].Reason), nurture.MaxBounceReason)
	require.Equal(t, strings.Repeat("é", nurture.MaxBounceReason/2), got[0].Reason)
}

// ---- fuzzers: no input makes a parser panic, and what they accept is sound ----

func checkBounces(t *testing.T, bounces []nurture.Bounce, err error, provider string) {
	if err != nil {
		var de *nurture.Error
		require.False(t, !errors.As(err, &de) || (de.Code != nurture.CodeInvalid && de.Code != nurture.CodeTooLarge) || de.Field == "", "error %v is not an invalid-field or too-large error", err)
		return
	}
	require.False(t, len(bounces) > providers.MaxSendGridEvents || (provider == providers.Generic && len(bounces) > providers.MaxGenericBounces), "%d bounces in one post", len(bounces))
	for _, b := range bounces {
		if !b.Type.Valid() || b.Email == "" || b.Provider != provider || len(b.Reason) > nurture.MaxBounceReason ||
			strings.ContainsRune(b.Reason, 0) || strings.ContainsRune(b.MessageID, 0) || strings.ContainsRune(b.EventID, 0) {
			t.Fatalf("unsound bounce %+v", b)
		}
		require.NotContains(t, strings.ToLower(b.Reason), strings.ToLower(b.Email), "the reason keeps the address")
	}
}

func FuzzParseGenericBounces(f *testing.F) {
	f.Add([]byte(`{"email":"ada@example.com","type":"hard","reason":"550 5.1.1 user unknown"}`))
	f.Add([]byte(`[{"email":"a@example.com","type":"soft"},{"email":"b@example.com","type":"complaint","messageId":"<nurture.5@acme.example>","at":"2026-03-02T12:00:00Z","id":"e1"}]`))
	f.Add([]byte(`[{"email":"a@example.com","type":"hard"},"x"]`))
	f.Add([]byte(` {"":"00000000","0000":"0000"}00`)) // found by the fuzzer: a field without a name
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := providers.ParseGenericBounces(data)
		checkBounces(t, b, err, "api")
	})
}

func FuzzSESBounces(f *testing.F) {
	for _, s := range []string{sesBounceDoc, sesTransientDoc, sesComplaintDoc, sesDeliveryDoc} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := providers.ParseSESNotification(data)
		checkBounces(t, b, err, "ses")
		if m, err := providers.ParseSNSMessage(data); err == nil && m.Type == "" {
			t.Fatal("an SNS message without a type")
		}
	})
}

func FuzzSendGridBounces(f *testing.F) {
	f.Add([]byte(sendGridDoc))
	f.Add([]byte(`[{"event":"bounce","email":"a@example.com","timestamp":-5}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := providers.ParseSendGridEvents(data)
		checkBounces(t, b, err, "sendgrid")
	})
}

func FuzzPostmarkBounces(f *testing.F) {
	for _, s := range []string{postmarkBounceDoc, postmarkComplaintDoc, postmarkLegacyDoc, postmarkDeliveryDoc} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := providers.ParsePostmark(data)
		checkBounces(t, b, err, "postmark")
	})
}

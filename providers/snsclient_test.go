package providers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/providers"
)

// scriptedSNS answers every request with status and body, or fails when
// down, and records the URLs asked for.
type scriptedSNS struct {
	status int
	body   string
	down   bool
	mu     sync.Mutex
	urls   []string
}

func (s *scriptedSNS) Do(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.urls = append(s.urls, req.URL.String())
	s.mu.Unlock()
	if s.down {
		return nil, errors.New("dial tcp: connection refused")
	}
	return &http.Response{StatusCode: s.status, Status: http.StatusText(s.status),
		Body: io.NopCloser(strings.NewReader(s.body)), Request: req}, nil
}

const testSubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:ses-bounces&Token=2336412f37"

func TestConfirmSubscription(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		url       string
		sns       *scriptedSNS
		code      nurture.ErrorCode // "" for none
		requested bool
	}{
		{"SNS answers 200", testSubscribeURL, &scriptedSNS{status: 200, body: "<ConfirmSubscriptionResponse/>"}, "", true},
		{"SNS answers 500: it will send the confirmation again", testSubscribeURL, &scriptedSNS{status: 500}, nurture.CodeUnavailable, true},
		{"SNS cannot be reached", testSubscribeURL, &scriptedSNS{down: true}, nurture.CodeUnavailable, true},
		{"another host is never visited", "https://attacker.example/?Action=ConfirmSubscription", &scriptedSNS{status: 200}, nurture.CodeForbidden, false},
		{"plain http is never visited", "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", &scriptedSNS{status: 200}, nurture.CodeForbidden, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &providers.SNSMessage{Type: providers.SNSSubscriptionConfirmation, SubscribeURL: tc.url}
			err := providers.ConfirmSubscription(context.Background(), tc.sns, m)
			if tc.code == "" {
				require.NoError(t, err)
			} else {
				require.Equal(t, tc.code, nurture.ErrorCodeOf(err), "%v", err)
			}
			if tc.requested {
				require.Equal(t, []string{tc.url}, tc.sns.urls)
			} else {
				require.Empty(t, tc.sns.urls)
			}
		})
	}
}

func TestHTTPCertFetcherReadsAtMost64KiB(t *testing.T) {
	t.Parallel()
	huge := &scriptedSNS{status: 200, body: strings.Repeat("x", 1<<20)}
	got, err := providers.HTTPCertFetcher{Client: huge}.FetchCert(context.Background(), testCertURL)
	require.NoError(t, err)
	require.Len(t, got, 64<<10)

	_, err = providers.HTTPCertFetcher{Client: &scriptedSNS{status: 404}}.FetchCert(context.Background(), testCertURL)
	require.ErrorContains(t, err, "sns.us-east-1.amazonaws.com answered Not Found")
}

func TestSESBouncesNameFieldsInsideTheSNSMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ message, field string }{
		{`[]`, "Message"},
		{`{"notificationType":"Bounce"}`, "Message.bounce"},
		{`{"notificationType":"Bounce","bounce":{"bounceType":"Sideways","bouncedRecipients":[{"emailAddress":"a@example.com"}]}}`, "Message.bounce.bounceType"},
		{`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"not an address"}]}}`, "Message.complaint.complainedRecipients[0].emailAddress"},
	} {
		_, err := (&providers.SNSMessage{Type: providers.SNSNotification, Message: tc.message}).SESBounces()
		require.Equal(t, tc.field, fieldOf(t, err), tc.message)
	}
	got, err := (&providers.SNSMessage{Type: providers.SNSNotification, Message: sesBounceDoc}).SESBounces()
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "jane@example.com", got[0].Email)
}

package mailer

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
)

// TestTransactionWithAndWithoutPipelining runs the same transactions with
// MAIL, RCPT and DATA pipelined and one by one: deliveries, refusals at
// each stage (the connection kept and reset), and a relay that drops the
// connection (a fresh one for the next message).
func TestTransactionWithAndWithoutPipelining(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failure  *smtptest.Failure
		kind     nurture.DeliveryKind
		reply    string
		sessions int
	}{
		{"delivered", nil, "", "", 1},
		{"452 at MAIL", &smtptest.Failure{Stage: smtptest.StageMail, Code: 452, Enhanced: [3]int{4, 3, 1}}, nurture.DeliveryTemporary, "MAIL FROM: 452 4.3.1", 1},
		{"550 at MAIL", &smtptest.Failure{Stage: smtptest.StageMail, Code: 550, Enhanced: [3]int{5, 7, 1}}, nurture.DeliveryRejected, "MAIL FROM: 550 5.7.1", 1},
		{"550 at RCPT", &smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}}, nurture.DeliveryPermanent, "RCPT TO: 550 5.1.1", 1},
		{"451 after DATA", &smtptest.Failure{Stage: smtptest.StageData, Code: 451, Enhanced: [3]int{4, 7, 1}}, nurture.DeliveryTemporary, "end of DATA: 451 4.7.1", 1},
		{"dropped at RCPT", &smtptest.Failure{Stage: smtptest.StageRcpt, Drop: true}, nurture.DeliveryTemporary, "RCPT TO", 2},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("pipelining=%t/%s", pipelining, tt.name), func(t *testing.T) {
				t.Parallel()
				relay := smtptest.Start(t)
				m, err := New(Config{URL: relay.URL(), PoolSize: 1, Timeout: 5 * time.Second})
				require.NoError(t, err)
				m.noPipelining = !pipelining
				t.Cleanup(func() { _ = m.Close() })
				if tt.failure != nil {
					failure := *tt.failure // shared by the parallel pipelining=true and false runs
					failure.Times = 1
					relay.Fail(failure)
				}
				err = m.Send(t.Context(), testEmail("first"))
				if tt.failure == nil {
					require.NoError(t, err, "Send")
				} else {
					var de *nurture.DeliveryError
					require.ErrorAs(t, err, &de, "Send")
					require.Equal(t, tt.kind, de.Kind, "Send: %v", err)
					require.ErrorContains(t, err, tt.reply, "Send")
				}
				require.NoError(t, m.Send(t.Context(), testEmail("second")), "the next Send")
				want := 2
				if tt.failure != nil {
					want = 1
				}
				msgs := relay.WaitForMessages(t, want, 5*time.Second)
				require.Len(t, msgs, want, "messages at the relay")
				require.Equal(t, "<second@nurture.test>", msgs[len(msgs)-1].Header("Message-ID"), "the last message at the relay")
				require.Equal(t, tt.sessions, relay.Sessions(), "Sessions")
			})
		}
	}
}

func testEmail(id string) *nurture.Email {
	return &nurture.Email{
		MessageID: id + "@nurture.test",
		From:      netmail.Address{Address: "team@nurture.test"},
		To:        netmail.Address{Address: "joerg@example.com"},
		Subject:   "Hello",
		Text:      ".\nHello\n",
	}
}

func TestQuotedPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a=b", "a=3Db"},
		{"line\nnext", "line\r\nnext"},
		{"crlf\r\nnext", "crlf\r\nnext"},
		{"lone\rcr", "lone=0Dcr"},
		{"trailing \nspace\t", "trailing=20\r\nspace=09"},
		{"inner  spaces kept", "inner  spaces kept"},
		{".leading dot\n.", "=2Eleading dot\r\n=2E"},
		{"Jörg", "J=C3=B6rg"},
		{strings.Repeat("a", 80), strings.Repeat("a", 75) + "=\r\naaaaa"},
		{strings.Repeat("a", 76), strings.Repeat("a", 76)}, // a last line may use all 76
		{strings.Repeat("a", 74) + "=", strings.Repeat("a", 74) + "=\r\n=3D"},
		{strings.Repeat("a", 75) + ".b", strings.Repeat("a", 75) + "=\r\n=2Eb"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(appendQP(nil, tt.in)), "appendQP(%q)", tt.in)
		checkQP(t, tt.in)
	}
}

// checkQP checks what every encoding must be: 7-bit, lines of at most 76
// characters, none ending in white space or starting with a dot, and
// decoding to the input with CRLF line breaks.
func checkQP(t *testing.T, in string) {
	t.Helper()
	out := appendQP(nil, in)
	for i, line := range strings.Split(string(out), "\r\n") {
		require.LessOrEqual(t, len(line), 76, "line %d of %q is too long", i, in)
		require.False(t, strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t"), "line %d of %q ends in white space: %q", i, in, line)
		require.False(t, strings.HasPrefix(line, "."), "line %d of %q starts with a dot", i, in)
		require.False(t, strings.ContainsAny(line, "\r\n"), "a bare CR or LF in line %d of %q", i, in)
		for _, c := range []byte(line) {
			require.False(t, c < 0x20 && c != '\t' || c > 0x7e, "byte %#x in line %d of %q", c, i, in)
		}
	}
	got, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(out)))
	require.NoError(t, err, "decode %q", out)
	want := strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\n", "\r\n")
	require.Equal(t, want, string(got), "round trip of %q", in)
}

func FuzzQuotedPrintable(f *testing.F) {
	for _, s := range []string{"", "a=b", ".x\n.", "trailing \n", "Jörg\r\n", strings.Repeat("ab ", 40), "\r\r\n\n", strings.Repeat("=", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkQP(t, s)
	})
}

// BenchmarkComposeAndSign writes and signs (Ed25519) a message the size of
// the welcome starter: a 2 KB text part and a 9 KB HTML part, indented.
func BenchmarkComposeAndSign(b *testing.B) {
	e := testEmail("bench")
	e.Text = strings.Repeat("Welcome aboard, Ada. Here is what to do first: (https://links.example.com/c/abcdef)\n", 24)
	e.HTML = "<html>\n" + strings.Repeat("    <tr>\n      <td class=\"x\" style=\"padding: 0 24px; color: #333333;\">Welcome aboard, Ada &mdash; here is your guide.</td>\n    </tr>\n", 60) + "</html>\n"
	s := testSigners()["ed25519"]
	b.SetBytes(int64(len(e.Text) + len(e.HTML)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := compose(e, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.sign(m); err != nil {
			b.Fatal(err)
		}
	}
}

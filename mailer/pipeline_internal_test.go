package mailer

import (
	"context"
	"io"
	"net"
	netmail "net/mail"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/smtptest"
)

// The tests here catch a Send in the middle of its transaction (its RCPT
// reply held by the relay) while others queue behind it on a pool of one
// connection, so that what follows its data is known: the queued
// messages' commands, each behind the data of the one before.

// pipelineSetup is a relay behind a counting proxy and a Mailer of one
// connection to it.
type pipelineSetup struct {
	relay  *smtptest.Server
	writes *writeCounter
	m      *Mailer
}

func setupPipeline(t *testing.T) pipelineSetup {
	t.Helper()
	relay := smtptest.Start(t)
	wc := startWriteCounter(t, relay.Addr())
	m, err := New(Config{URL: "smtp://" + wc.addr() + "?tls=none", PoolSize: 1, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return pipelineSetup{relay: relay, writes: wc, m: m}
}

// emailTo is a message to its own recipient, which a scripted failure can
// match.
func emailTo(id string) *nurture.Email {
	e := testEmail(id)
	e.To = netmail.Address{Address: id + "@example.com"}
	return e
}

// sendQueued sends the first email, holds it at its RCPT reply until the
// others have queued behind it, in order, and returns each Send's result.
func (p pipelineSetup) sendQueued(t *testing.T, ctxs []context.Context, emails ...*nurture.Email) []<-chan error {
	t.Helper()
	hold := p.relay.Hold(smtptest.StageRcpt)
	t.Cleanup(hold.Release) // before the Mailer's Close, if the test fails first
	done := make([]<-chan error, len(emails))
	for i, e := range emails {
		ctx := t.Context()
		if ctxs != nil && ctxs[i] != nil {
			ctx = ctxs[i]
		}
		ch := make(chan error, 1)
		go func() { ch <- p.m.Send(ctx, e) }()
		done[i] = ch
		if i == 0 {
			<-hold.Reached()
		} else {
			p.waitForWaiters(t, i)
		}
	}
	hold.Release()
	return done
}

// waitForWaiters waits until n Sends wait for a turn.
func (p pipelineSetup) waitForWaiters(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		p.m.mu.Lock()
		defer p.m.mu.Unlock()
		return len(p.m.waiting) == n
	}, 5*time.Second, time.Millisecond, "Sends waiting for a turn")
}

// messageIDs are the Message-IDs of the messages at the relay, in order.
func messageIDs(msgs []smtptest.Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Header("Message-ID")
	}
	return ids
}

func TestQueuedMessagesGoOutBehindTheDataBeforeThem(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	done := p.sendQueued(t, nil, emailTo("one"), emailTo("two"), emailTo("three"))
	for i, ch := range done {
		require.NoError(t, <-ch, "Send %d", i+1)
	}
	msgs := p.relay.WaitForMessages(t, 3, 5*time.Second)
	require.Equal(t, []string{"<one@nurture.test>", "<two@nurture.test>", "<three@nurture.test>"}, messageIDs(msgs), "messages at the relay")
	require.Equal(t, 1, p.relay.Sessions(), "Sessions")
	// EHLO; the first message's commands, then its data with the second's
	// commands behind it, the second's data with the third's, the third's
	// data: one write a message once the connection is busy, where
	// commands and data went out apart (7 writes).
	require.Equal(t, 5, p.writes.count(), "writes from the client:\n%s", p.writes.chunks())
}

func TestRefusedRecipientBehindTheDataLeavesTheMessageBeforeIt(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	p.relay.Fail(smtptest.Failure{Stage: smtptest.StageRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Match: "two@", Times: 1})
	done := p.sendQueued(t, nil, emailTo("one"), emailTo("two"), emailTo("three"))
	require.NoError(t, <-done[0], "Send 1, whose data the refused RCPT followed")
	err := <-done[1]
	require.Equal(t, nurture.DeliveryPermanent, nurture.DeliveryKindOf(err), "Send 2 = %v", err)
	require.ErrorContains(t, err, "RCPT TO: 550 5.1.1")
	require.NoError(t, <-done[2], "Send 3, after the refusal")
	msgs := p.relay.WaitForMessages(t, 2, 5*time.Second)
	require.Equal(t, []string{"<one@nurture.test>", "<three@nurture.test>"}, messageIDs(msgs), "messages at the relay")
	require.Equal(t, 1, p.relay.Sessions(), "Sessions: the refusal was reset, not the connection")
	require.Contains(t, p.writes.chunks(), "RSET\r\n", "the refused transaction is reset")
}

func TestRefusedDataWithTheNextCommandsBehindIt(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	p.relay.Fail(smtptest.Failure{Stage: smtptest.StageData, Code: 554, Enhanced: [3]int{5, 7, 1}, Match: "one@", Times: 1})
	done := p.sendQueued(t, nil, emailTo("one"), emailTo("two"))
	err := <-done[0]
	require.Equal(t, nurture.DeliveryRejected, nurture.DeliveryKindOf(err), "Send 1 = %v", err)
	require.ErrorContains(t, err, "end of DATA: 554 5.7.1")
	require.NoError(t, <-done[1], "Send 2, whose commands followed the refused data")
	msgs := p.relay.WaitForMessages(t, 1, 5*time.Second)
	require.Equal(t, []string{"<two@nurture.test>"}, messageIDs(msgs), "messages at the relay")
	require.Equal(t, 1, p.relay.Sessions(), "Sessions")
	require.NotContains(t, p.writes.chunks(), "RSET", "a RSET would fall into the next transaction")
}

// The relay took the first message and closed without its reply: that
// one's fate is unknown, and the next, whose commands were lost with the
// connection, goes out once on a new one.
func TestLostReplyBeforeQueuedCommands(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	p.relay.Fail(smtptest.Failure{Stage: smtptest.StageData, CloseAfterDot: true, Match: "one@", Times: 1})
	done := p.sendQueued(t, nil, emailTo("one"), emailTo("two"))
	err := <-done[0]
	require.Equal(t, nurture.DeliveryUnknown, nurture.DeliveryKindOf(err), "Send 1 = %v", err)
	require.NoError(t, <-done[1], "Send 2")
	msgs := p.relay.WaitForMessages(t, 2, 5*time.Second)
	require.Equal(t, []string{"<one@nurture.test>", "<two@nurture.test>"}, messageIDs(msgs), "messages at the relay")
	require.Equal(t, 2, p.relay.Sessions(), "Sessions")
}

// A Send whose commands went out behind another message's data, and whose
// context ends before that message's reply, sends nothing: the connection,
// which the relay holds at its DATA, is dropped.
func TestCancelledWhileItsCommandsWaitBehindTheData(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	dataHold := p.relay.Hold(smtptest.StageData)
	t.Cleanup(dataHold.Release)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := p.sendQueued(t, []context.Context{nil, ctx}, emailTo("one"), emailTo("two"))
	<-dataHold.Reached() // the first message's data is in, its reply held
	require.Eventually(t, func() bool {
		p.m.mu.Lock()
		defer p.m.mu.Unlock()
		return len(p.m.waiting) == 0 // claimed: its commands followed the data
	}, 5*time.Second, time.Millisecond)
	cancel()
	err := <-done[1]
	require.Equal(t, nurture.DeliveryTemporary, nurture.DeliveryKindOf(err), "Send 2 = %v", err)
	require.ErrorIs(t, err, context.Canceled, "Send 2")
	dataHold.Release()
	require.NoError(t, <-done[0], "Send 1")
	require.NoError(t, p.m.Send(t.Context(), emailTo("three")), "Send 3")
	msgs := p.relay.WaitForMessages(t, 2, 5*time.Second)
	require.Equal(t, []string{"<one@nurture.test>", "<three@nurture.test>"}, messageIDs(msgs), "messages at the relay")
	require.Equal(t, 2, p.relay.Sessions(), "Sessions: the connection left at DATA is dropped")
}

// A relay without PIPELINING: no commands follow the data, and the queued
// Sends get the connection in turn.
func TestQueuedMessagesWithoutPipelining(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	p.m.noPipelining = true
	done := p.sendQueued(t, nil, emailTo("one"), emailTo("two"), emailTo("three"))
	for i, ch := range done {
		require.NoError(t, <-ch, "Send %d", i+1)
	}
	msgs := p.relay.WaitForMessages(t, 3, 5*time.Second)
	require.Equal(t, []string{"<one@nurture.test>", "<two@nurture.test>", "<three@nurture.test>"}, messageIDs(msgs), "messages at the relay")
	require.Equal(t, 1, p.relay.Sessions(), "Sessions")
	require.Equal(t, 1+3*4, p.writes.count(), "writes: EHLO, then MAIL, RCPT, DATA and the data of each")
}

func TestCloseEndsTheWaits(t *testing.T) {
	t.Parallel()
	p := setupPipeline(t)
	hold := p.relay.Hold(smtptest.StageRcpt)
	t.Cleanup(hold.Release)
	first := make(chan error, 1)
	go func() { first <- p.m.Send(t.Context(), emailTo("one")) }()
	<-hold.Reached()
	second := make(chan error, 1)
	go func() { second <- p.m.Send(t.Context(), emailTo("two")) }()
	p.waitForWaiters(t, 1)
	closed := make(chan error, 1)
	go func() { closed <- p.m.Close() }()
	err := <-second
	require.ErrorIs(t, err, ErrClosed, "the waiting Send")
	hold.Release()
	require.NoError(t, <-first, "the Send in progress finishes")
	require.NoError(t, <-closed)
	msgs := p.relay.WaitForMessages(t, 1, 5*time.Second)
	require.Equal(t, []string{"<one@nurture.test>"}, messageIDs(msgs), "messages at the relay")
}

// writeCounter is a proxy that keeps each read of what the client sent,
// which is one write of the client's in a conversation where every write
// awaits a reply before the next.
type writeCounter struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	writes []string
	wg     sync.WaitGroup
}

func startWriteCounter(t *testing.T, target string) *writeCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wc := &writeCounter{ln: ln, target: target}
	var conns []net.Conn
	var connsMu sync.Mutex
	wc.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, client, server)
			connsMu.Unlock()
			wc.wg.Go(func() {
				defer server.Close()
				buf := make([]byte, 256<<10)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						wc.mu.Lock()
						wc.writes = append(wc.writes, string(buf[:n]))
						wc.mu.Unlock()
						if _, err := server.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
			wc.wg.Go(func() {
				defer client.Close()
				_, _ = io.Copy(client, server)
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		connsMu.Unlock()
		wc.wg.Wait()
	})
	return wc
}

func (wc *writeCounter) addr() string { return wc.ln.Addr().String() }

// count is how many writes the client made, QUIT aside.
func (wc *writeCounter) count() int {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	n := 0
	for _, w := range wc.writes {
		if w != "QUIT\r\n" {
			n++
		}
	}
	return n
}

// chunks is what the client sent, one write a line, for messages.
func (wc *writeCounter) chunks() string {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	var b []byte
	for _, w := range wc.writes {
		b = append(b, w...)
		b = append(b, "\n---\n"...)
	}
	return string(b)
}

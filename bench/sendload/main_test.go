package main

import (
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gomail "github.com/wneessen/go-mail"

	"github.com/nurture-email/nurture/bench/internal/procstat"
	"github.com/nurture-email/nurture/internal/smtpsink"
)

func TestSinkStatsFromTheControlInterface(t *testing.T) {
	t.Parallel()
	srv, err := smtpsink.Start(smtpsink.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	control := httptest.NewServer(srv.ControlHandler())
	t.Cleanup(control.Close)
	sk, err := useSink(srv.Addr(), control.URL+"/stats")
	require.NoError(t, err)

	send := func(n int) {
		c, err := gomail.NewClient("127.0.0.1", gomail.WithPort(portOf(t, srv.Addr())), gomail.WithTLSPolicy(gomail.NoTLS))
		require.NoError(t, err)
		require.NoError(t, c.DialWithContext(t.Context()))
		defer c.Close()
		for range n {
			m := gomail.NewMsg()
			require.NoError(t, m.From("news@acme.example"))
			require.NoError(t, m.To("ada@bench.example"))
			m.Subject("hello")
			m.SetBodyString(gomail.TypeTextPlain, "hi")
			require.NoError(t, c.Send(m))
			time.Sleep(2 * time.Millisecond) // first and last apart
		}
	}
	send(3)
	st, err := sk.stats(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Accepted, "accepted: %+v", st)
	require.Positive(t, st.Bytes, "bytes: %+v", st)
	require.True(t, st.LastAccepted.After(st.FirstAccepted), "first %s, last %s", st.FirstAccepted, st.LastAccepted)
	require.InDelta(t, 2/st.LastAccepted.Sub(st.FirstAccepted).Seconds(), st.rate(), 1e-9, "rate: (n-1)/(last-first)")

	require.NoError(t, sk.reset(t.Context()))
	st, err = sk.stats(t.Context())
	require.NoError(t, err)
	require.Zero(t, st.Accepted, "accepted after a reset")
	require.Zero(t, st.rate(), "rate without messages")
	send(1)
	st, err = sk.stats(t.Context())
	require.NoError(t, err)
	require.Equal(t, st.FirstAccepted, st.LastAccepted, "one message: first is last")
	require.Zero(t, st.rate(), "rate of one message")
}

func TestUseSinkDerivesTheControlAddress(t *testing.T) {
	t.Parallel()
	_, err := useSink("127.0.0.1:x", "")
	require.ErrorContains(t, err, "not a number")
	_, err = useSink("127.0.0.1:1", "") // nothing on port 2
	require.ErrorContains(t, err, "127.0.0.1:2")
}

func TestProcessIDOfRedisInfo(t *testing.T) {
	t.Parallel()
	info := "# Server\r\nredis_version:7.0.15\r\nprocess_id:4242\r\nrun_id:abc\r\n"
	require.Equal(t, 4242, processIDOf(info))
	require.Zero(t, processIDOf("# Server\r\nredis_version:7.0.15\r\n"))
}

func TestCPUReadingOfThisProcess(t *testing.T) {
	t.Parallel()
	p := &cpuProbe{workerPIDs: []int{os.Getpid()}, redisPID: os.Getpid(), watchers: []int{os.Getpid()}, db: "nurture_sendload_none"}
	before := p.read(time.Second)
	for deadline := time.Now().Add(5 * time.Second); procstat.ProcessCPU(os.Getpid())-before.worker < 50*time.Millisecond && time.Now().Before(deadline); {
	}
	d := p.read(3 * time.Second).since(before)
	require.GreaterOrEqual(t, d.worker, 50*time.Millisecond, "the worker's (this process's) CPU")
	require.Equal(t, 2*time.Second, d.sink, "the sink's, from its stats")
	require.Equal(t, d.worker+d.postgres+d.redis, d.engine(), "engine")
	require.InDelta(t, 0.5, perThousand(time.Second, 2000), 1e-9, "per 1,000")
}

func TestMedian(t *testing.T) {
	t.Parallel()
	require.InDelta(t, 2.0, median([]float64{3, 1, 2}), 0)
	require.InDelta(t, 2.5, median([]float64{4, 1, 2, 3}), 0)
	require.Zero(t, median(nil))
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return p
}

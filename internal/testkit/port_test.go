package testkit_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// The ports handed out are free, never twice the same in a process, and
// below the kernel's ephemeral range (32768 and up by default), where no
// port-0 listener or outgoing connection can take them meanwhile.
func TestFreePort(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 50 {
		port, err := testkit.FreePort()
		require.NoError(t, err)
		require.False(t, seen[port], "port %d handed out twice", port)
		seen[port] = true
		require.Less(t, port, 32768)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		require.NoError(t, err, "port %d is free", port)
		require.NoError(t, l.Close())
	}
}

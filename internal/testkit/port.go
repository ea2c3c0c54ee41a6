package testkit

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Ports handed out by FreePort come from below the kernel's ephemeral range,
// where neither a listener on port 0 nor an outgoing connection (a client
// of PostgreSQL or Redis, in this or another test) can take one between the
// check and the bind: the race that made a test's server find its address
// in use. Within the process, no port is handed out twice.
const (
	portLow  = 20000
	portHigh = 32000 // Linux's ephemeral range starts at 32768 by default
)

var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// FreePort returns a TCP port of 127.0.0.1 that nothing listens on, for a
// server the test starts itself (a redis-server, `nurture api`).
func FreePort() (int, error) {
	if lo := ephemeralLow(); lo > 0 && lo <= portHigh {
		return kernelPort() // an unusual range: the kernel's choice, with its race
	}
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range 200 {
		port := portLow + rand.IntN(portHigh-portLow)
		if handedOut[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // in use
		}
		_ = l.Close()
		handedOut[port] = true
		return port, nil
	}
	return kernelPort()
}

// FreeAddr is FreePort as host:port.
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range, or 0 when
// it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

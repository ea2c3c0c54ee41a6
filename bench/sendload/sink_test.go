package main

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSkipData(t *testing.T) {
	tests := []struct {
		name, in string
		n        int64
		rest     string
	}{
		{"empty message", ".\r\nNEXT", 0, "NEXT"},
		{"one line", "a\r\n.\r\nNEXT", 3, "NEXT"},
		{"stuffed dots are data", "..\r\n.a\r\nb\r\n.\r\nNEXT", 11, "NEXT"},
		{"long", strings.Repeat("x", 70000) + "\r\n.\r\nNEXT", 70002, "NEXT"},
	}
	for _, tt := range tests {
		for _, size := range []int{16, 17, 18, 19, 64 << 10} {
			r := bufio.NewReaderSize(&slowReader{s: tt.in}, size)
			n, err := skipData(r)
			require.NoError(t, err, "%s (buffer %d): skipData", tt.name, size)
			require.Equal(t, tt.n, n, "%s (buffer %d): skipData", tt.name, size)
			rest, _ := r.ReadString('\n')
			require.Equal(t, tt.rest, rest, "%s (buffer %d): left", tt.name, size)
		}
	}
}

// slowReader hands out a few bytes at a time, so ends fall across reads.
type slowReader struct{ s string }

func (r *slowReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 5)], r.s)
	r.s = r.s[n:]
	return n, nil
}

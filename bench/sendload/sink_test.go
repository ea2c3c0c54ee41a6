package main

import (
	"bufio"
	"io"
	"strings"
	"testing"
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
			if err != nil || n != tt.n {
				t.Fatalf("%s (buffer %d): skipData = %d, %v; want %d", tt.name, size, n, err, tt.n)
			}
			rest, _ := r.ReadString('\n')
			if rest != tt.rest {
				t.Fatalf("%s (buffer %d): left %q, want %q", tt.name, size, rest, tt.rest)
			}
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

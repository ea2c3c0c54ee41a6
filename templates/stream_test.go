package templates

import (
	"bytes"
	"sync/atomic"
	"testing"

	"golang.org/x/net/html"
)

// inlineOnly returns src with its CSS inlined, and nothing else changed.
func inlineOnly(t testing.TB, src string) string {
	t.Helper()
	var out bytes.Buffer
	var last atomic.Pointer[cascade]
	if _, err := renderHTML([]byte(src), &out, &styleCache{}, &last, nil, "", false); err != nil {
		t.Fatalf("renderHTML: %v", err)
	}
	return out.String()
}

func attrValue(n *html.Node, key string) string {
	v, _ := attrOf(n, key)
	return v
}

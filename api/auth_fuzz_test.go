package api

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// referenceKey parses an Authorization header from the RFCs' grammar, written
// separately from presentedKey and in another way (regular expressions):
//
//	credentials = auth-scheme 1*SP token68                   (RFC 7235, 9110)
//	token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//	Bearer      : the token68 is the key                     (RFC 6750 b64token)
//	Basic       : base64 (RFC 4648, canonical) of user-id ":" password, where
//	              user-id has no ":" and no control character (RFC 7617);
//	              the user-id is the key, as in Segment's API
//
// The scheme is case-insensitive in ASCII only.
func referenceKey(header string) string {
	m := referenceCredentials.FindStringSubmatch(header)
	if m == nil {
		return ""
	}
	switch strings.ToLower(m[1]) {
	case "bearer":
		return m[2]
	case "basic":
		decoded, err := base64.StdEncoding.Strict().DecodeString(m[2])
		if err != nil {
			return ""
		}
		userPass := referenceUserPass.FindStringSubmatch(string(decoded))
		if userPass == nil {
			return ""
		}
		return userPass[1]
	}
	return ""
}

var (
	referenceCredentials = regexp.MustCompile(`\A([A-Za-z]+) +([A-Za-z0-9._~+/-]+=*)\z`)
	// (?s) lets the password hold anything, new lines included.
	referenceUserPass = regexp.MustCompile(`(?s)\A([^:\x00-\x1f\x7f]*):.*\z`)
)

func TestPresentedKey(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		header, want string
	}{
		{"Bearer nk_abc", "nk_abc"},
		{"bearer nk_abc", "nk_abc"},
		{"BEARER   nk_abc", "nk_abc"},
		{"Bearer abc==", "abc=="},
		{"Basic " + b64("nk_abc:"), "nk_abc"},
		{"basic " + b64("nk_abc:password"), "nk_abc"},
		{"Basic " + b64("nk_abc:pass:word"), "nk_abc"},
		{"Basic " + b64(":nk_abc"), ""}, // the key as the password
		{"Basic " + b64("nk_abc"), ""},  // no colon
		{"Basic " + b64("nk\x01abc:"), ""},
		{"Basic " + b64("nk\x7fabc:"), ""},
		{"Basic YR==", ""}, // non-canonical padding bits
		{"Basic %%%", ""},
		{"Basic", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer a b", ""},
		{"Bearer\tnk_abc", ""},
		{"Bearer nk_abc\x00", ""},
		{"Bearer =abc", ""},
		{"Bearer ab=c", ""},
		{"Token nk_abc", ""},
		{"Bearerx nk_abc", ""},
		{"Beaſer nk_abc", ""}, // U+017F folds to s in Unicode, not in ASCII
		{"", ""},
	} {
		require.Equal(t, tc.want, presentedKey(tc.header), "presentedKey(%q)", tc.header)
		require.Equal(t, tc.want, referenceKey(tc.header), "referenceKey(%q)", tc.header)
	}
}

// FuzzPresentedKey checks the parser against the reference on any header:
// it never panics and accepts exactly the keys the reference does.
func FuzzPresentedKey(f *testing.F) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range []string{
		"Bearer nk_abc", "bEaReR  nk_abc==", "Basic " + b64("nk_abc:"), "Basic " + b64(":nk_abc"),
		"Basic " + b64("nk\x00:"), "Basic " + b64("ü:ß"), "Basic YR==", "Basic Y", "Basic %%%",
		"Beaſer x", "Bearer a b", "Bearer\tx", "Token x", "Bearer ", "", " ", "Basic ====",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		require.Equal(t, referenceKey(header), presentedKey(header), "presentedKey(%q) against the reference", header)
	})
}

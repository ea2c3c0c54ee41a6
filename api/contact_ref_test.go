package api

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Every typed profile field has its own camelCase spelling in the answer:
// a field added to the domain without one would show in snake_case, or two
// fields would overwrite each other.
func TestEveryProfileFieldHasASpelling(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, f := range nurture.ProfileFields {
		name, ok := profileSpelling[f.Name]
		require.True(t, ok, "profile field %s has no spelling in profileSpelling", f.Name)
		require.NotContains(t, name, "_", "profile field %s is spelled %s, not camelCase", f.Name, name)
		require.NotContains(t, seen, name, "profile fields %s and %s are both spelled %s", seen[name], f.Name, name)
		seen[name] = f.Name
	}
	require.Len(t, profileSpelling, len(nurture.ProfileFields), "profileSpelling has an entry per field")
}

// checkRef holds what any lookup the parsers accept must be: one way of
// naming a contact, with nothing PostgreSQL refuses in it.
func checkRef(t *testing.T, ref contactRef) {
	t.Helper()
	set := 0
	if ref.id != 0 {
		set++
		require.Positive(t, ref.id, "id accepted")
	}
	for _, s := range []string{ref.userID, ref.email} {
		if s == "" {
			continue
		}
		set++
		require.True(t, utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= maxRefBytes, "%q accepted", s)
	}
	require.Equal(t, 1, set, "%+v names a contact in one way", ref)
}

// FuzzParsePathRef: a path id is Nurture's number exactly when it is all
// digits, the product's user id exactly when it starts with "user:"; never
// both, and nothing else is accepted.
func FuzzParsePathRef(f *testing.F) {
	for _, s := range []string{"1", "0001", "42", "0", "-1", "+1", "1e3", " 1", "99999999999999999999",
		"user:u1", "user:42", "user:", "user:user:1", "USER:1", "u1", "", "user:\xff", "user:a\x00b", "user:é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ref, err := parsePathRef(raw)
		if err != nil {
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "%q: %v", raw, err)
			require.Equal(t, "id", nurture.FieldOf(err), "%q: %v", raw, err)
			return
		}
		checkRef(t, ref)
		switch {
		case strings.HasPrefix(raw, userPrefix):
			require.Equal(t, raw[len(userPrefix):], ref.userID, "%q read as %+v", raw, ref)
		case ref.id != 0:
			require.Empty(t, strings.Trim(raw, "0123456789"), "%q read as id %d", raw, ref.id)
			require.Equal(t, strings.TrimLeft(raw, "0"), strconv.FormatInt(ref.id, 10), "%q read as id %d", raw, ref.id)
		default:
			require.Failf(t, "read as neither", "%q read as %+v", raw, ref)
		}
	})
}

// FuzzParseQueryRef: a query finds a contact by exactly one of email and
// userId; an accepted address is already in the form the store keeps.
func FuzzParseQueryRef(f *testing.F) {
	for _, s := range []string{"email=ada@example.com", "email=ADA@Example.COM", "userId=u1", "userId=1", "email=a&userId=b",
		"", "email=", "userId=", "email=ada", "email=a@b.c&email=d@e.f", "userId=%ff", "userId=a%00b", "email=Ada+%3Cada@example.com%3E",
		"email=%22a%20b%22@example.com", "user_id=u1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		ref, err := parseQueryRef(q)
		if err != nil {
			require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err), "%q: %v", raw, err)
			require.Contains(t, []string{"email", "userId"}, nurture.FieldOf(err), "%q: %v", raw, err)
			return
		}
		checkRef(t, ref)
		if ref.email != "" {
			again, err := nurture.NormalizeEmail(ref.email)
			require.NoError(t, err, "%q: accepted address %q", raw, ref.email)
			require.Equal(t, ref.email, again, "%q: an accepted address normalises to itself", raw)
			require.Empty(t, q["userId"], "%q: both email and userId accepted", raw)
		}
		if ref.userID != "" {
			require.Equal(t, q.Get("userId"), ref.userID, "%q read as %+v", raw, ref)
			require.Empty(t, q["email"], "%q read as %+v", raw, ref)
		}
	})
}

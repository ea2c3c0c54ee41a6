package api

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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
		if !ok {
			t.Errorf("profile field %s has no spelling in profileSpelling", f.Name)
			continue
		}
		if strings.Contains(name, "_") {
			t.Errorf("profile field %s is spelled %s, not camelCase", f.Name, name)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("profile fields %s and %s are both spelled %s", other, f.Name, name)
		}
		seen[name] = f.Name
	}
	if len(profileSpelling) != len(nurture.ProfileFields) {
		t.Errorf("profileSpelling has %d entries for %d fields", len(profileSpelling), len(nurture.ProfileFields))
	}
}

// checkRef holds what any lookup the parsers accept must be: one way of
// naming a contact, with nothing PostgreSQL refuses in it.
func checkRef(t *testing.T, ref contactRef) {
	t.Helper()
	set := 0
	if ref.id != 0 {
		set++
		if ref.id < 1 {
			t.Fatalf("id %d accepted", ref.id)
		}
	}
	for _, s := range []string{ref.userID, ref.email} {
		if s == "" {
			continue
		}
		set++
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > maxRefBytes {
			t.Fatalf("%q accepted", s)
		}
	}
	if set != 1 {
		t.Fatalf("%+v names a contact %d ways", ref, set)
	}
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
			if nurture.ErrorCodeOf(err) != nurture.CodeInvalid || err.(*nurture.Error).Field != "id" {
				t.Fatalf("%q: error %v does not name the id", raw, err)
			}
			return
		}
		checkRef(t, ref)
		switch {
		case strings.HasPrefix(raw, userPrefix):
			if ref.userID != raw[len(userPrefix):] {
				t.Fatalf("%q read as %+v", raw, ref)
			}
		case ref.id != 0:
			if strings.Trim(raw, "0123456789") != "" || strconv.FormatInt(ref.id, 10) != strings.TrimLeft(raw, "0") {
				t.Fatalf("%q read as id %d", raw, ref.id)
			}
		default:
			t.Fatalf("%q read as %+v", raw, ref)
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
			field := err.(*nurture.Error).Field
			if nurture.ErrorCodeOf(err) != nurture.CodeInvalid || (field != "email" && field != "userId") {
				t.Fatalf("%q: error %v does not name email or userId", raw, err)
			}
			return
		}
		checkRef(t, ref)
		if ref.email != "" {
			if again, err := nurture.NormalizeEmail(ref.email); err != nil || again != ref.email {
				t.Fatalf("%q: accepted address %q does not normalise to itself (%q, %v)", raw, ref.email, again, err)
			}
			if len(q["userId"]) != 0 {
				t.Fatalf("%q: both email and userId accepted", raw)
			}
		}
		if ref.userID != "" && (ref.userID != q.Get("userId") || len(q["email"]) != 0) {
			t.Fatalf("%q read as %+v", raw, ref)
		}
	})
}

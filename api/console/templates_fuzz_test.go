package console

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/nurture-email/nurture"
)

// FuzzParseContactRef: whatever is typed in the preview form, the answer
// is a positive id, a normalised address, or an error about the field
// contact; never a panic.
func FuzzParseContactRef(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-3", "ada@example.com", " Ada@Example.COM ", "a@", "@b", "9223372036854775808", "lin", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		id, email, err := parseContactRef(ref)
		switch {
		case err != nil:
			var de *nurture.Error
			if !errors.As(err, &de) || de.Field != "contact" || de.Code != nurture.CodeInvalid {
				t.Fatalf("%q: error %v does not say the field contact is invalid", ref, err)
			}
		case email != "":
			if id != 0 || !strings.Contains(ref, "@") {
				t.Fatalf("%q: id %d and email %q", ref, id, email)
			}
			if again, err := nurture.NormalizeEmail(email); err != nil || again != email {
				t.Fatalf("%q: %q is not normalised", ref, email)
			}
		default:
			if n, err := strconv.ParseInt(ref, 10, 64); err != nil || n != id || id < 1 {
				t.Fatalf("%q: id %d", ref, id)
			}
		}
	})
}

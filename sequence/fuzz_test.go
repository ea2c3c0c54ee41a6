package sequence_test

import (
	"bytes"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// FuzzParse feeds the loader any file: it must not panic; every error must
// name the file and a place inside it; what loads must have a stable
// version and be decidable from its first step.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"onboarding.yaml", "feature-lessons.yaml"} {
		src, err := fs.ReadFile(templates.Sequences(), name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, b := range brokenFiles {
		f.Add([]byte(b.src))
	}
	for _, s := range []string{oneSend, engagedSeq, waitUntilSeq, exitSeq, lessonsSeq} {
		f.Add([]byte(s))
	}
	start := utc("2027-03-09 10:00")
	f.Fuzz(func(t *testing.T, src []byte) {
		seq, err := sequence.Parse("f.yaml", src, tmpl)
		if err != nil {
			var es sequence.Errors
			require.ErrorAs(t, err, &es)
			require.NotEmpty(t, es, "error %T %v is not sequence.Errors", err, err)
			// YAML breaks lines at \n, \r\n and a lone \r.
			lines := bytes.Count(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n")), []byte("\n")) +
				bytes.Count(bytes.ReplaceAll(src, []byte("\r\n"), nil), []byte("\r")) + 2
			for _, e := range es {
				require.Equal(t, "f.yaml", e.File, "error out of the file: %#v", e)
				require.GreaterOrEqual(t, e.Line, 0, "error out of the file: %#v", e)
				require.LessOrEqual(t, e.Line, lines, "error out of the file (%d lines): %#v", lines, e)
				require.GreaterOrEqual(t, e.Column, 0, "error out of the file: %#v", e)
				require.NotEmpty(t, e.Message, "error out of the file: %#v", e)
			}
			return
		}
		again, err := sequence.Parse("f.yaml", src, tmpl)
		require.NoError(t, err, "parsed twice")
		require.Equal(t, seq.Version, again.Version, "parsed twice")
		_, err = sequence.Simulate(sequence.Input{Sequence: seq, State: sequence.State{Started: start}, Facts: &nurture.Facts{}, Now: start,
			Cap: sequence.Cap{Limit: 2}}, start.Add(400*24*time.Hour))
		require.NoError(t, err, "a valid sequence fails to decide")
	})
}

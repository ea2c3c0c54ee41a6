package nurture_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestFieldSources(t *testing.T) {
	t.Parallel()
	early, late := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	derived := []nurture.EnrichedField{{Field: "seniority", Value: "VP", Source: "title", Method: "title", At: late}}
	for name, tc := range map[string]struct {
		contact nurture.Contact
		want    []nurture.FieldSource
	}{
		"sent by the product": {
			contact: nurture.Contact{Email: "a@example.com", FirstName: "Ada", TraitTimes: map[string]time.Time{"first_name": early}},
			want: []nurture.FieldSource{{Field: "email", Value: "a@example.com", Source: nurture.SourceProduct},
				{Field: "first_name", Value: "Ada", Source: nurture.SourceProduct, At: early}},
		},
		"enriched": {
			contact: nurture.Contact{Seniority: "VP"},
			want:    []nurture.FieldSource{{Field: "seniority", Value: "VP", Source: nurture.SourceEnriched, From: "title", Method: "title", At: late}},
		},
		"set by the product after enrichment": {
			contact: nurture.Contact{Seniority: "VP", TraitTimes: map[string]time.Time{"seniority": late.Add(time.Hour)}},
			want:    []nurture.FieldSource{{Field: "seniority", Value: "VP", Source: nurture.SourceProduct, At: late.Add(time.Hour)}},
		},
		"another value than enrichment's": {
			contact: nurture.Contact{Seniority: "Manager"},
			want:    []nurture.FieldSource{{Field: "seniority", Value: "Manager", Source: nurture.SourceProduct}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, nurture.FieldSources(&tc.contact, derived))
		})
	}
}

func TestErasedAddressHashIsKeyedAndCaseBlind(t *testing.T) {
	t.Parallel()
	a := nurture.ErasedAddressHash([]byte("key-one"), " Ada@Example.com ")
	require.Equal(t, a, nurture.ErasedAddressHash([]byte("key-one"), "ada@example.com"))
	require.NotEqual(t, a, nurture.ErasedAddressHash([]byte("key-two"), "ada@example.com"))
	require.False(t, bytes.Equal(a, nurture.EmailHash("ada@example.com")), "not the plain SHA-256")
}

package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// segmentJSON is a saved segment as the API shows it.
type segmentJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Filter      any    `json:"filter"`
	Condition   string `json:"condition"`
}

func (b *bundle) adminDo(t *testing.T, method, path string, body any) response {
	t.Helper()
	return b.do(t, request{method: method, path: path, body: body, key: b.admin, bearer: true})
}

func decodeSegment(t *testing.T, res response) segmentJSON {
	t.Helper()
	var s segmentJSON
	require.NoError(t, json.Unmarshal(res.body, &s), string(res.body))
	return s
}

// A saved segment is created, listed, read, changed field by field and
// deleted; its filter comes back as sent, with the condition it means.
func TestSegmentsLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	filter := obj{"and": []any{
		obj{"traits.industry": "Software"},
		obj{"company.size": obj{"gte": 50}},
		obj{"did": obj{"event": "Report Created", "within": "30d"}},
	}}
	res := b.adminDo(t, http.MethodPost, "/v1/segments", obj{"name": "Active software teams", "description": "50+ people", "filter": filter})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	s := decodeSegment(t, res)
	require.Positive(t, s.ID)
	require.Equal(t, "Active software teams", s.Name)
	require.Equal(t, `traits.industry == "Software" and company.size >= 50 and did "Report Created" within 30d`, s.Condition)
	require.Equal(t, "Software", s.Filter.(map[string]any)["and"].([]any)[0].(map[string]any)["traits.industry"])

	res = b.adminDo(t, http.MethodPost, "/v1/segments", obj{"name": "Trials", "filter": "traits.plan == \"trial\""})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	trials := decodeSegment(t, res)

	res = b.adminDo(t, http.MethodGet, "/v1/segments", nil)
	require.Equal(t, http.StatusOK, res.status)
	var list struct{ Segments []segmentJSON }
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Equal(t, []string{"Active software teams", "Trials"}, []string{list.Segments[0].Name, list.Segments[1].Name})

	path := fmt.Sprintf("/v1/segments/%d", trials.ID)
	res = b.adminDo(t, http.MethodPatch, path, obj{"name": "Trials (EU)"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	got := decodeSegment(t, res)
	require.Equal(t, "Trials (EU)", got.Name)
	require.Equal(t, `traits.plan == "trial"`, got.Condition, "the filter stays")

	res = b.adminDo(t, http.MethodPatch, path, obj{"filter": obj{"or": []any{obj{"traits.plan": "trial"}, obj{"subscribed": "product"}}}})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, `traits.plan == "trial" or subscribed to product`, decodeSegment(t, res).Condition)

	res = b.adminDo(t, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "Trials (EU)", decodeSegment(t, res).Name)

	res = b.adminDo(t, http.MethodDelete, path, nil)
	require.Equal(t, http.StatusNoContent, res.status)
	requireError(t, b.adminDo(t, http.MethodGet, path, nil), http.StatusNotFound, "")
	requireError(t, b.adminDo(t, http.MethodDelete, path, nil), http.StatusNotFound, "")
}

// Every malformed segment is refused with the field that is wrong, and
// nothing is stored: a filter that is JSON but not a condition is a 422
// that leads to the node at fault.
func TestSegmentRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.adminDo(t, http.MethodPost, "/v1/segments", obj{"name": "Taken", "filter": obj{"traits.plan": "pro"}})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	taken := decodeSegment(t, res)

	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no filter", obj{"name": "x"}, http.StatusUnprocessableEntity, "filter"},
		{"an unknown operator, deep", obj{"name": "x", "filter": obj{"and": []any{obj{"traits.plan": "trial"}, obj{"traits.seats": obj{"gtx": 3}}}}},
			http.StatusUnprocessableEntity, "filter.and[1].traits.seats.gtx"},
		{"a comparison of a list", obj{"name": "x", "filter": obj{"or": []any{obj{"company.size": obj{"gte": []any{1}}}}}},
			http.StatusUnprocessableEntity, "filter.or[0].company.size.gte"},
		{"an unknown kind of condition", obj{"name": "x", "filter": obj{"visited": "/pricing"}}, http.StatusUnprocessableEntity, "filter.visited"},
		{"a step, which belongs to a sequence", obj{"name": "x", "filter": obj{"opened": "welcome"}}, http.StatusUnprocessableEntity, "filter"},
		{"text that does not parse", obj{"name": "x", "filter": "traits.plan === 1"}, http.StatusUnprocessableEntity, "filter"},
		{"no name", obj{"filter": obj{"traits.plan": "pro"}}, http.StatusBadRequest, "name"},
		{"a blank name", obj{"name": "  ", "filter": obj{"traits.plan": "pro"}}, http.StatusBadRequest, "name"},
		{"a name of two lines", obj{"name": "a\nb", "filter": obj{"traits.plan": "pro"}}, http.StatusBadRequest, "name"},
		{"a name not text", obj{"name": 3, "filter": obj{"traits.plan": "pro"}}, http.StatusBadRequest, "name"},
		{"a name taken, case aside", obj{"name": "TAKEN", "filter": obj{"traits.plan": "pro"}}, http.StatusConflict, "name"},
		{"an unknown field", obj{"name": "x", "filter": obj{"traits.plan": "pro"}, "query": "x"}, http.StatusBadRequest, "query"},
		{"not JSON", "{", http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, b.adminDo(t, http.MethodPost, "/v1/segments", tc.body), tc.status, tc.field)
		})
	}
	path := fmt.Sprintf("/v1/segments/%d", taken.ID)
	requireError(t, b.adminDo(t, http.MethodPatch, path, obj{"filter": obj{"not": []any{}}}), http.StatusUnprocessableEntity, "filter.not")
	requireError(t, b.adminDo(t, http.MethodGet, "/v1/segments/abc", nil), http.StatusBadRequest, "id")

	res = b.adminDo(t, http.MethodGet, "/v1/segments", nil)
	var list struct{ Segments []segmentJSON }
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Len(t, list.Segments, 1, "nothing else was stored")
	require.Equal(t, `traits.plan == "pro"`, list.Segments[0].Condition, "the refused change changed nothing")
	res = b.do(t, request{method: http.MethodGet, path: "/v1/segments", key: b.ingest, bearer: true})
	require.Equal(t, http.StatusForbidden, res.status, "admin scope only")
}

// A preview counts the contacts a filter selects now and lists the first
// twenty, for a filter sent or a saved segment; a malformed filter is a
// 422, as on save.
func TestSegmentPreview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 25 {
		plan := "trial"
		if i%5 == 0 {
			plan = "pro"
		}
		requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": fmt.Sprintf("u%02d", i),
			"traits": obj{"email": fmt.Sprintf("u%02d@initech.de", i), "plan": plan, "seats": i}}))
	}
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u01", "event": "Report Created"}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "no-address", "traits": obj{"plan": "trial"}}))

	type preview struct {
		Count     int64
		Condition string
		Sample    []struct {
			ID     int64  `json:"id"`
			UserID string `json:"userId"`
			Email  string `json:"email"`
		}
	}
	ask := func(body any) preview {
		t.Helper()
		res := b.adminDo(t, http.MethodPost, "/v1/segments/preview", body)
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		var p preview
		require.NoError(t, json.Unmarshal(res.body, &p))
		return p
	}
	p := ask(obj{"filter": obj{"traits.plan": "trial"}})
	require.EqualValues(t, 20, p.Count, "the contact without an address cannot be mailed and is not counted")
	require.Len(t, p.Sample, 20)
	require.Equal(t, "u24", p.Sample[0].UserID, "the newest first")

	p = ask(obj{"filter": obj{"and": []any{obj{"traits.seats": obj{"gte": 10}}, obj{"not": obj{"traits.plan": "pro"}}}}})
	require.EqualValues(t, 12, p.Count)
	require.Equal(t, `traits.seats >= 10 and not traits.plan == "pro"`, p.Condition)

	p = ask(obj{"filter": obj{"did": "report_created"}})
	require.EqualValues(t, 1, p.Count)
	require.Equal(t, "u01@initech.de", p.Sample[0].Email)

	res := b.adminDo(t, http.MethodPost, "/v1/segments", obj{"name": "Pro", "filter": obj{"traits.plan": "pro"}})
	require.Equal(t, http.StatusCreated, res.status)
	p = ask(obj{"segmentId": decodeSegment(t, res).ID})
	require.EqualValues(t, 5, p.Count)

	requireError(t, b.adminDo(t, http.MethodPost, "/v1/segments/preview", obj{"filter": obj{"traits.seats": obj{"gtx": 1}}}),
		http.StatusUnprocessableEntity, "filter.traits.seats.gtx")
	requireError(t, b.adminDo(t, http.MethodPost, "/v1/segments/preview", obj{"filter": obj{"traits.plan": "pro"}, "segmentId": 1}),
		http.StatusBadRequest, "segmentId")
	requireError(t, b.adminDo(t, http.MethodPost, "/v1/segments/preview", obj{"segmentId": 999}), http.StatusNotFound, "")
}

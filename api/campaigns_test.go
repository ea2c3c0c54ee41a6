package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/templates"
)

// campaignJSON is a campaign as the API shows it.
type campaignJSON struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	Template          string     `json:"template"`
	Topic             string     `json:"topic"`
	SegmentID         int64      `json:"segmentId"`
	Condition         string     `json:"condition"`
	Status            string     `json:"status"`
	SendAt            *time.Time `json:"sendAt"`
	LocalDate         string     `json:"localDate"`
	LocalTime         string     `json:"localTime"`
	FallbackZone      string     `json:"fallbackZone"`
	StartsAt          *time.Time `json:"startsAt"`
	ThrottlePerMinute int        `json:"throttlePerMinute"`
	Stats             *struct {
		Audience int64            `json:"audience"`
		Messages map[string]int64 `json:"messages"`
	} `json:"stats"`
}

func setupCampaigns(t *testing.T) *bundle {
	t.Helper()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	return setup(t, func(cfg *api.Config) {
		store := cfg.Admin.Contacts.(*postgres.DB)
		cfg.Campaigns = &api.Campaigns{Store: store, Figures: store, Segments: store, Templates: tmpl}
	})
}

func decodeCampaign(t *testing.T, res response) campaignJSON {
	t.Helper()
	var c campaignJSON
	require.NoError(t, json.Unmarshal(res.body, &c), string(res.body))
	return c
}

// A campaign is written as a draft, changed, scheduled, paused, resumed
// and cancelled through the API; each refused move says why.
func TestCampaignLifecycle(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	res := b.adminDo(t, http.MethodPost, "/v1/segments", obj{"name": "Pro", "filter": obj{"traits.plan": "pro"}})
	require.Equal(t, http.StatusCreated, res.status)
	seg := decodeSegment(t, res)

	res = b.adminDo(t, http.MethodPost, "/v1/campaigns", obj{"name": "Winter release", "template": "newsletter",
		"segmentId": seg.ID, "localDate": "2026-12-08", "localTime": "10:00", "fallbackZone": "Europe/Paris", "throttlePerMinute": 600})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	c := decodeCampaign(t, res)
	require.Equal(t, "draft", c.Status)
	require.Equal(t, "newsletter", c.Template)
	require.NotEmpty(t, c.Topic)
	require.Equal(t, `traits.plan == "pro"`, c.Condition)
	require.Equal(t, "2026-12-08", c.LocalDate)
	require.Equal(t, "10:00", c.LocalTime)
	require.Equal(t, time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC), c.StartsAt.UTC(), "10:00 first comes at UTC+14")

	path := fmt.Sprintf("/v1/campaigns/%d", c.ID)
	res = b.adminDo(t, http.MethodPatch, path, obj{"name": "Winter release (EU)", "sendAt": "2026-12-08T09:00:00Z"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	c = decodeCampaign(t, res)
	require.Equal(t, "Winter release (EU)", c.Name)
	require.Empty(t, c.LocalDate, "a moment replaces the local time")
	require.Equal(t, time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC), c.SendAt.UTC())

	requireError(t, b.adminDo(t, http.MethodPost, path+"/pause", nil), http.StatusConflict, "status")
	res = b.adminDo(t, http.MethodPost, path+"/schedule", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, "scheduled", decodeCampaign(t, res).Status)

	res = b.adminDo(t, http.MethodPost, path+"/pause", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, "paused", decodeCampaign(t, res).Status)
	requireError(t, b.adminDo(t, http.MethodPatch, path, obj{"name": "x"}), http.StatusConflict, "status")
	res = b.adminDo(t, http.MethodPost, path+"/resume", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, "scheduled", decodeCampaign(t, res).Status, "it had not started: it waits for its time again")

	res = b.adminDo(t, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, res.status)
	got := decodeCampaign(t, res)
	require.NotNil(t, got.Stats)
	require.Zero(t, got.Stats.Audience)

	res = b.adminDo(t, http.MethodPost, path+"/cancel", nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, "cancelled", decodeCampaign(t, res).Status)
	requireError(t, b.adminDo(t, http.MethodPost, path+"/resume", nil), http.StatusConflict, "status")

	res = b.adminDo(t, http.MethodGet, "/v1/campaigns", nil)
	require.Equal(t, http.StatusOK, res.status)
	var list struct{ Campaigns []campaignJSON }
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Len(t, list.Campaigns, 1)
	requireError(t, b.adminDo(t, http.MethodGet, "/v1/campaigns/999", nil), http.StatusNotFound, "")
}

// Every mistake in a campaign is refused with the field at fault, and
// nothing is stored.
func TestCampaignRefusals(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	ok := obj{"name": "x", "template": "newsletter", "filter": obj{"traits.plan": "pro"}, "sendAt": "2026-12-08T10:00:00Z"}
	with := func(k string, v any) obj {
		o := obj{}
		for kk, vv := range ok {
			o[kk] = vv
		}
		if v == nil {
			delete(o, k)
		} else {
			o[k] = v
		}
		return o
	}
	for _, tc := range []struct {
		name   string
		body   obj
		status int
		field  string
	}{
		{"no name", with("name", nil), http.StatusBadRequest, "name"},
		{"an unknown template", with("template", "nope"), http.StatusBadRequest, "template"},
		{"no audience", with("filter", nil), http.StatusUnprocessableEntity, "filter"},
		{"a malformed filter", with("filter", obj{"and": []any{obj{"traits.x": obj{"gtx": 1}}}}), http.StatusUnprocessableEntity, "filter.and[0].traits.x.gtx"},
		{"a segment and a filter", with("segmentId", 1), http.StatusBadRequest, "segmentId"},
		{"no schedule", with("sendAt", nil), http.StatusBadRequest, "sendAt"},
		{"a moment that is not one", with("sendAt", "tomorrow"), http.StatusBadRequest, "sendAt"},
		{"a moment and a local time", with("localDate", "2026-12-08"), http.StatusBadRequest, "sendAt"},
		{"an unknown zone", obj{"name": "x", "template": "newsletter", "filter": obj{"traits.plan": "pro"},
			"localDate": "2026-12-08", "localTime": "10:00", "fallbackZone": "Mars/Olympus"}, http.StatusBadRequest, "fallbackZone"},
		{"a time of day that is not one", obj{"name": "x", "template": "newsletter", "filter": obj{"traits.plan": "pro"},
			"localDate": "2026-12-08", "localTime": "25:00"}, http.StatusBadRequest, "localTime"},
		{"a negative throttle", with("throttlePerMinute", -1), http.StatusBadRequest, "throttlePerMinute"},
		{"quiet hours that are not a window", with("sendWindow", "nights"), http.StatusBadRequest, "sendWindow"},
		{"an A/B test of one variant", with("ab", obj{"variants": []any{obj{"name": "a", "subject": "A"}}, "testShare": 0.2, "metric": "clicks", "wait": "1h"}),
			http.StatusBadRequest, "ab.variants"},
		{"an A/B test without a share", with("ab", obj{"variants": []any{obj{"name": "a", "subject": "A"}, obj{"name": "b", "subject": "B"}}, "metric": "clicks", "wait": "1h"}),
			http.StatusBadRequest, "ab.testShare"},
		{"an A/B variant of no template", with("ab", obj{"variants": []any{obj{"name": "a", "subject": "A"}, obj{"name": "b", "template": "nope"}}, "testShare": 0.2, "metric": "clicks", "wait": "1h"}),
			http.StatusBadRequest, "ab.variants[1].template"},
		{"an A/B test of revenue", with("ab", obj{"variants": []any{obj{"name": "a", "subject": "A"}, obj{"name": "b", "subject": "B"}}, "testShare": 0.2, "metric": "revenue", "wait": "1h"}),
			http.StatusBadRequest, "ab.metric"},
		{"an unknown field", with("audience", "all"), http.StatusBadRequest, "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, b.adminDo(t, http.MethodPost, "/v1/campaigns", tc.body), tc.status, tc.field)
		})
	}
	res := b.adminDo(t, http.MethodPost, "/v1/campaigns", with("ab", obj{"variants": []any{obj{"name": "plain", "subject": "Winter release"},
		obj{"name": "curious", "subject": "What's new?"}}, "testShare": 0.2, "metric": "clicks", "wait": "4h"}))
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	var withAB struct {
		ID int64
		AB struct {
			Variants  []struct{ Name, Subject string }
			TestShare float64
			Metric    string
			Wait      string
		}
	}
	require.NoError(t, json.Unmarshal(res.body, &withAB))
	require.Len(t, withAB.AB.Variants, 2)
	require.Equal(t, "4h0m0s", withAB.AB.Wait)
	res = b.adminDo(t, http.MethodGet, fmt.Sprintf("/v1/campaigns/%d", withAB.ID), nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, string(res.body), `"results":[{"variant":0`, "the counts as they stand")

	res = b.adminDo(t, http.MethodPost, "/v1/campaigns", with("sendAt", "2020-01-01T10:00:00Z"))
	require.Equal(t, http.StatusCreated, res.status, "a draft may be written for any time")
	c := decodeCampaign(t, res)
	requireError(t, b.adminDo(t, http.MethodPost, fmt.Sprintf("/v1/campaigns/%d/schedule", c.ID), nil), http.StatusBadRequest, "sendAt")

	res = b.adminDo(t, http.MethodGet, "/v1/campaigns", nil)
	var list struct{ Campaigns []campaignJSON }
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Len(t, list.Campaigns, 2, "nothing else was stored")
	require.Equal(t, "draft", list.Campaigns[0].Status, "the refused schedule changed nothing")
}

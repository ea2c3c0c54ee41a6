package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/nurture-email/nurture/internal/config"
)

// campaignActions are the subcommands of `nurture campaigns`.
var campaignActions = []string{"create", "list", "show", "schedule", "pause", "resume", "cancel"}

// runCampaigns serves `nurture campaigns create|list|show|schedule|pause|resume|cancel`,
// for operators who prefer a terminal: a client of the API's
// /v1/campaigns (NURTURE_API_URL, with an admin key in NURTURE_API_KEY),
// so that a campaign made here is checked exactly as one made over HTTP.
// Exit codes: 0 done, 1 refused or failed (the API's message and field
// printed), 2 a usage mistake.
func runCampaigns(ctx context.Context, cmd config.Command, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			config.PrintUsage(stdout, cmd)
			return 0
		}
		fmt.Fprintf(stderr, "nurture campaigns: say %s (see nurture campaigns --help)\n", strings.Join(campaignActions, ", "))
		return 2
	}
	action := args[0]
	known := false
	for _, a := range campaignActions {
		known = known || a == action
	}
	if !known {
		fmt.Fprintf(stderr, "nurture campaigns: unknown action %q: say %s\n", action, strings.Join(campaignActions, ", "))
		return 2
	}
	var file string
	var id int64
	var schedule, asJSON bool
	cfg, err := config.LoadWith(cmd, args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		switch action {
		case "create":
			fs.StringVar(&file, "file", "", "the campaign, a YAML or JSON file with the fields of POST /v1/campaigns")
			fs.BoolVar(&schedule, "schedule", false, "schedule it at once (else it stays a draft)")
		case "list":
		default:
			fs.Int64Var(&id, "id", 0, "the campaign's id (see campaigns list)")
		}
		if action == "show" || action == "list" {
			fs.BoolVar(&asJSON, "json", false, "print the API's answer as it is")
		}
	})
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nurture campaigns %s: %v\n", action, err)
		return 2
	}
	if cfg.APIKey == "" {
		fmt.Fprintf(stderr, "nurture campaigns %s: set NURTURE_API_KEY to a key of scope admin (nurture apikey create --name ops --scopes admin)\n", action)
		return 2
	}
	client := &apiClient{base: cfg.APIURL, key: cfg.APIKey}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "nurture campaigns %s: %v\n", action, err)
		return 1
	}
	switch action {
	case "create":
		if file == "" {
			fmt.Fprintln(stderr, "nurture campaigns create: --file is required: a YAML or JSON file with name, template, filter or segmentId, sendAt or localDate and localTime")
			return 2
		}
		body, err := readCampaignFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "nurture campaigns create: %v\n", err)
			return 2
		}
		var c campaignOut
		if err := client.do(ctx, http.MethodPost, "/v1/campaigns", body, &c); err != nil {
			return fail(err)
		}
		if schedule {
			if err := client.do(ctx, http.MethodPost, "/v1/campaigns/"+strconv.FormatInt(c.ID, 10)+"/schedule", nil, &c); err != nil {
				fmt.Fprintf(stdout, "campaign %d created as a draft\n", c.ID)
				return fail(err)
			}
		}
		fmt.Fprintf(stdout, "campaign %d %q: %s\n", c.ID, c.Name, c.Status)
		return 0
	case "list":
		var raw json.RawMessage
		if err := client.do(ctx, http.MethodGet, "/v1/campaigns", nil, &raw); err != nil {
			return fail(err)
		}
		if asJSON {
			return printJSON(stdout, raw)
		}
		var list struct{ Campaigns []campaignOut }
		if err := json.Unmarshal(raw, &list); err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tWHEN\tTEMPLATE")
		for _, c := range list.Campaigns {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.ID, oneLine(c.Name, 60), c.Status, c.when(), c.Template)
		}
		_ = tw.Flush()
		return 0
	}
	if id <= 0 {
		fmt.Fprintf(stderr, "nurture campaigns %s: --id is required (see nurture campaigns list)\n", action)
		return 2
	}
	path := "/v1/campaigns/" + strconv.FormatInt(id, 10)
	if action == "show" {
		var raw json.RawMessage
		if err := client.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
			return fail(err)
		}
		if asJSON {
			return printJSON(stdout, raw)
		}
		var c campaignOut
		if err := json.Unmarshal(raw, &c); err != nil {
			return fail(err)
		}
		c.print(stdout)
		return 0
	}
	var c campaignOut
	if err := client.do(ctx, http.MethodPost, path+"/"+action, nil, &c); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "campaign %d %q: %s\n", c.ID, c.Name, c.Status)
	return 0
}

// readCampaignFile reads a campaign written in YAML or JSON (by its
// extension; YAML when unsure, since JSON is YAML) as a JSON body.
func readCampaignFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		if !json.Valid(data) {
			return nil, fmt.Errorf("%s is not valid JSON", path)
		}
		return data, nil
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %v", path, yaml.FormatError(err, false, true))
	}
	if v == nil {
		return nil, fmt.Errorf("%s holds no campaign", path)
	}
	return json.Marshal(v)
}

func printJSON(w io.Writer, raw json.RawMessage) int {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return 1
	}
	b.WriteByte('\n')
	_, _ = w.Write(b.Bytes())
	return 0
}

// apiClient calls the admin API with a key.
type apiClient struct {
	base, key string
}

// apiError is the API's answer to a refused request.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%d %s)", e.Field, e.Message, e.Status, e.Code)
	}
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach the API at %s (NURTURE_API_URL): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error apiError }
		if json.Unmarshal(data, &e) != nil || e.Error.Message == "" {
			return fmt.Errorf("the API answered %s", resp.Status)
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	return json.Unmarshal(data, out)
}

// campaignOut is what the command reads of the API's campaigns.
type campaignOut struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	Template          string     `json:"template"`
	Status            string     `json:"status"`
	Condition         string     `json:"condition"`
	SendAt            *time.Time `json:"sendAt"`
	LocalDate         string     `json:"localDate"`
	LocalTime         string     `json:"localTime"`
	FallbackZone      string     `json:"fallbackZone"`
	ThrottlePerMinute int        `json:"throttlePerMinute"`
	AB                *struct {
		Variants []struct {
			Name string `json:"name"`
		} `json:"variants"`
		Winner string `json:"winner"`
	} `json:"ab"`
	Stats *struct {
		Audience    int64            `json:"audience"`
		Dispatched  int64            `json:"dispatched"`
		Dropped     int64            `json:"dropped"`
		Messages    map[string]int64 `json:"messages"`
		Skipped     map[string]int64 `json:"skipped"`
		HumanOpens  int64            `json:"humanOpens"`
		HumanClicks int64            `json:"humanClicks"`
	} `json:"stats"`
}

func (c campaignOut) when() string {
	if c.SendAt != nil {
		return c.SendAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	if c.LocalDate != "" {
		return c.LocalDate + " " + c.LocalTime + " local"
	}
	return "-"
}

func (c campaignOut) print(w io.Writer) {
	fmt.Fprintf(w, "campaign %d %q: %s\n", c.ID, c.Name, c.Status)
	fmt.Fprintf(w, "  template  %s\n  audience  %s\n  when      %s", c.Template, oneLine(c.Condition, 200), c.when())
	if c.FallbackZone != "" && c.LocalDate != "" {
		fmt.Fprintf(w, " (else %s)", c.FallbackZone)
	}
	fmt.Fprintln(w)
	if c.ThrottlePerMinute > 0 {
		fmt.Fprintf(w, "  throttle  %d a minute\n", c.ThrottlePerMinute)
	}
	if c.AB != nil {
		names := make([]string, len(c.AB.Variants))
		for i, v := range c.AB.Variants {
			names[i] = v.Name
		}
		fmt.Fprintf(w, "  a/b test  %s", strings.Join(names, " / "))
		if c.AB.Winner != "" {
			fmt.Fprintf(w, ": %s won", c.AB.Winner)
		}
		fmt.Fprintln(w)
	}
	if s := c.Stats; s != nil {
		fmt.Fprintf(w, "  figures   %d in the audience, %d dispatched, %d dropped; sent %d, skipped %d, bounced %d; people opened %d, clicked %d\n",
			s.Audience, s.Dispatched, s.Dropped, s.Messages["sent"], s.Messages["skipped"], s.Messages["bounced"], s.HumanOpens, s.HumanClicks)
	}
}

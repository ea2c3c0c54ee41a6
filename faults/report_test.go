package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Row is one line of the table: a scenario on one path.
type Row struct {
	Scenario  string
	Path      string // batch, single, or "" when the scenario sends nothing
	Emails    string
	Once      string // delivered once
	DupInside string // duplicates inside RFC 1047's window
	DupOther  string // other duplicates
	Lost      string
	Finish    string // time to finish
	Criterion string // issue 11's pass criterion
	Failures  []string
	Notes     []string
}

// Pass reports whether every criterion held.
func (r *Row) Pass() bool { return len(r.Failures) == 0 }

// fail records a criterion that did not hold.
func (r *Row) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// note records a measurement worth reading beside the counts.
func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// sendRow fills a row's counts from a tally.
func sendRow(scenario, path, criterion string, tl tally) *Row {
	r := &Row{Scenario: scenario, Path: path, Criterion: criterion,
		Emails: num(tl.emails), Once: num(tl.deliveredOnce), DupInside: num(tl.dupInside),
		DupOther: num(tl.dupOther), Lost: num(tl.lost), Finish: seconds(tl.finish)}
	if tl.notFinal > 0 {
		r.fail("%d messages not final by the deadline", tl.notFinal)
	}
	if tl.wrong > 0 {
		r.fail("%d messages recorded otherwise than the relay saw them", tl.wrong)
	}
	return r
}

// num writes n with thousands separators.
func num(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func seconds(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// table is the rows as a Markdown table.
func table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | path | emails | delivered once | duplicates inside RFC 1047's window | other duplicates | lost | time to finish | pass criterion (issue 11) | result | measured |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|\n")
	for _, r := range rows {
		result := "PASS"
		if !r.Pass() {
			result = "FAIL: " + strings.Join(r.Failures, "; ")
		}
		path := r.Path
		if path == "" {
			path = "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			cell(r.Scenario), path, dash(r.Emails), dash(r.Once), dash(r.DupInside), dash(r.DupOther), dash(r.Lost),
			dash(r.Finish), cell(r.Criterion), cell(result), cell(strings.Join(r.Notes, "; ")))
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell keeps text inside one Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// writeReport writes the table, with when, what and where it was measured,
// to FAULTS_REPORT or docs/reliability.md.
func (s *suite) writeReport() (string, error) {
	path := os.Getenv("FAULTS_REPORT")
	if path == "" {
		path = filepath.Join("..", "docs", "reliability.md")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Reliability under faults\n\n")
	fmt.Fprintf(&b, "Measured by the fault suite (`faults/`, issue 11): the real `nurture worker` and `nurture api`\n"+
		"as child processes, a private PostgreSQL and Redis, toxiproxy in between, and an SMTP sink that\n"+
		"fsyncs each accepted message to a journal before its 250. Counts come from that journal and the\n"+
		"database once every message row is final.\n\n")
	fmt.Fprintf(&b, "- Date: %s (the suite ran for %s)\n", s.began.UTC().Format("2006-01-02 15:04 MST"), time.Since(s.began).Round(time.Second))
	fmt.Fprintf(&b, "- Commit: %s\n", s.commit)
	fmt.Fprintf(&b, "- Machine: %s\n", machine())
	fmt.Fprintf(&b, "- Command: `%s`\n", s.command)
	fmt.Fprintf(&b, "- Emails per scenario: %s; relay hang: %s; seed: %d\n\n", num(s.emails), s.hang, s.seed)
	if !s.finished {
		b.WriteString("**The suite was still running when this was written: the rows below are those finished so far.**\n\n")
	}
	b.WriteString(table(s.rows))
	b.WriteString(legend)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return path, err
	}
	return path, nil
}

const legend = `
How to read it:

- **Paths.** *batch*: message rows and ` + "`email:send-batch`" + ` tasks of 250 ids (` + "`jobs.EnqueueSendBatch`" + `), as a
  campaign sends. *single*: message rows and one ` + "`email:send`" + ` task each (` + "`jobs.Enqueuer.EnqueueSend`" + `),
  as a welcome email is sent.
- **Delivered once**: messages that should have been delivered and reached the sink exactly once.
  **Duplicates** count extra copies. One is *inside RFC 1047's window* when the copy before it was
  accepted but the sink knows its reply never arrived (it dropped the connection on cue, or the
  client hung up before the reply); every other extra copy is the engine's. **Lost**: should have
  been delivered, never reached the sink.
- **Time to finish**: from queuing the emails until every message row is final.
- **The sink** (` + "`internal/smtpsink`" + `) journals a message and fsyncs the journal before its 250. Its relay
  hang holds greetings and the replies after "."; a message whose client leaves during the hang was
  never accepted (a relay stuck before it commits). "Relay down" closes connections at their next
  command and refuses new ones, never between "." and the reply.
- A row fails when a criterion fails; it also fails when rows are not final by the deadline or a
  row's status disagrees with what the sink saw (sent but never accepted, a refused address not
  bounced and suppressed).
- Run it with ` + "`make faults`" + ` (all scenarios), one scenario with
  ` + "`NURTURE_FAULTS=1 go test ./faults -run 'TestFaults/kill9/batch' -v -timeout 0`" + `, the quick tier with
  ` + "`FAULTS_EMAILS=1000`" + `. ` + "`FAULTS_BIN`" + ` judges another build of the binary with the same suite.
`

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if os.Getenv("FAULTS_BIN") != "" {
		return c + " (suite); binary " + os.Getenv("FAULTS_BIN")
	}
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

func machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %d GiB", (kb+(1<<19))>>20)
		}
	}
	return fmt.Sprintf("%s/%s, %d cores (%s)%s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, mem, runtime.Version())
}

// Package procstat reads what the load tools of bench/ report about the
// machine from /proc: a process's CPU, PostgreSQL's, the load average.
// Linux only; on failure a reading is zero (or "?"), never an error, as a
// figure missing from a report is better than a run lost.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/*/stat's CPU times (USER_HZ).
const clockTick = 10 * time.Millisecond

// ProcessCPU is the user and system CPU a process has used so far.
func ProcessCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return StatCPU(data)
}

// StatCPU reads utime + stime from a /proc/PID/stat line (after the
// command's parenthesised name, which may hold spaces).
func StatCPU(data []byte) time.Duration {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * clockTick
}

// PostgresCPU sums the CPU of the postgres processes serving database db
// (their command line names it), and of every postgres process of the
// machine: the difference over a run is PostgreSQL's share. The server is
// shared: the second figure includes the other databases' work, the first
// leaves out the WAL writer and the checkpointer; a backend that ended
// during the run is missed.
func PostgresCPU(db string) (mine, all time.Duration) {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, []byte("(postgres)")) {
			continue
		}
		cpu := StatCPU(data)
		all += cpu
		if cmd, err := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline")); err == nil && bytes.Contains(cmd, []byte(" "+db+" ")) {
			mine += cpu
		}
	}
	return mine, all
}

// DBName is the database a postgres:// URL names.
func DBName(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	_, rest, _ = strings.Cut(rest, "/")
	name, _, _ := strings.Cut(rest, "?")
	return name
}

// LoadAvg is the machine's load average over 1, 5 and 15 minutes.
func LoadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// MachineCPU is the CPU time all the machine's processes have used so far,
// from /proc/stat: every state but idle and iowait, summed over the cores.
func MachineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}

// PeakRSS is a process's high-water resident set size, in bytes.
func PeakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

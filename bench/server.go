package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/miniodb/miniodb/testenv"
)

// maxMsg matches the server's gRPC message bound.
const maxMsg = 256 << 20

// Server is one `miniodb serve` child process.
type Server struct {
	Bin, DataDir, Config string
	Addr, REST           string
	cmd                  *exec.Cmd
	logs                 *testenv.LogBuffer
	exited               chan struct{}
}

// WriteConfig writes a serve config into dataDir and returns its path.
// extra is appended YAML (e.g. a minio: section).
func WriteConfig(dataDir, extra string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", err
	}
	cfg := `buffer:
  buffer_size: 100000
  flush_interval: 250ms
  max_memory: 1073741824
log:
  level: warn
` + extra
	p := filepath.Join(dataDir, "bench.yaml")
	return p, os.WriteFile(p, []byte(cfg), 0o644)
}

// Start runs the server and waits until it answers Flight SQL.
func (s *Server) Start() error {
	var err error
	if s.Addr, err = testenv.FreeAddr(); err != nil {
		return err
	}
	if s.REST, err = testenv.FreeAddr(); err != nil {
		return err
	}
	s.cmd = exec.Command(s.Bin, "serve", "--config", s.Config, "--data-dir", s.DataDir,
		"--grpc-addr", s.Addr, "--rest-addr", s.REST)
	s.logs = &testenv.LogBuffer{Max: 1 << 20}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("miniodb exited during start-up:\n%s", s.logs)
		default:
		}
		if resp, err := http.Get("http://" + s.REST + "/v1/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("miniodb did not become healthy:\n%s", s.logs)
}

// Stop sends SIGTERM (the server flushes) and waits, killing it after 2 min.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(2 * time.Minute):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Logs is the tail of the server's output.
func (s *Server) Logs() string {
	l := s.logs.String()
	if len(l) > 4000 {
		l = l[len(l)-4000:]
	}
	return l
}

// Client opens a Flight SQL client to the server.
func (s *Server) Client() (*flightsql.Client, error) {
	return flightsql.NewClient(s.Addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
}

// TableStats is what /v1/tables/{name} reports about a table.
type TableStats struct {
	FileRows, Files, BufferedRows int64
}

// Stats reads a table's row counts from the REST API.
func (s *Server) Stats(ctx context.Context, table string) (TableStats, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.REST+"/v1/tables/"+table, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return TableStats{}, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return TableStats{}, err
	}
	st, _ := field(body, "stats").(map[string]any)
	return TableStats{FileRows: num(field(st, "record_count")), Files: num(field(st, "file_count")),
		BufferedRows: num(field(st, "buffered_rows"))}, nil
}

// field looks a protojson field up by its proto name or its lowerCamel name.
func field(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	parts := strings.Split(name, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return m[strings.Join(parts, "")]
}

func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// WaitFlushed waits until the table has no buffered rows and at least
// rows rows in files.
func (s *Server) WaitFlushed(ctx context.Context, table string, rows int64) error {
	for {
		st, err := s.Stats(ctx, table)
		if err == nil && st.BufferedRows == 0 && st.FileRows >= rows {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s not flushed (%+v, want %d rows): %w", table, st, rows, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitQuiet waits until the server has finished its background work. A
// flush commits its files before it copies their batches into the memory
// cache (for SF1 lineitem 0.6–2.8 s of a whole core after WaitFlushed
// returned, probe), and a baseline or a workload measured meanwhile would
// share the machine with that copy. A server still busy after 30 s is an
// error.
func (s *Server) WaitQuiet(ctx context.Context) error {
	return waitQuiet(ctx, s.Pid(), 30*time.Second)
}

// waitQuiet waits until process pid uses at most one clock tick (10 ms)
// of CPU in each of two 100 ms samples in a row, for at most limit.
func waitQuiet(ctx context.Context, pid int, limit time.Duration) error {
	const sample, busy = 100 * time.Millisecond, 1
	prev, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	for quiet := 0; quiet < 2; {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still busy after %v", pid, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sample):
		}
		now, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		if now-prev <= busy {
			quiet++
		} else {
			quiet = 0
		}
		prev = now
	}
	return nil
}

// cpuTicks is the user and system CPU time of a process, in clock ticks
// (1/100 s on Linux).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th and stime the 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	return u + st, err
}

// ResetPeakRSS clears the kernel's high-water mark of a process and returns
// its current RSS in bytes.
func ResetPeakRSS(pid int) int64 {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	return procStatus(pid, "VmRSS:")
}

// PeakRSS is the process's RSS high-water mark in bytes.
func PeakRSS(pid int) int64 { return procStatus(pid, "VmHWM:") }

func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

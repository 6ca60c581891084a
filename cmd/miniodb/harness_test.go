package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/testenv"
)

// binary is the miniodb executable the end-to-end tests run as a child
// process; TestMain builds it once.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "miniodb-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "miniodb")
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build miniodb:", err)
		os.Exit(1)
	}
	// Every REST call of a test ends: a hung server fails that test.
	http.DefaultClient.Timeout = 3 * time.Minute
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a `miniodb serve` child process.
type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	addr    string
	dataDir string
	args    []string
	logs    *testenv.LogBuffer
	exited  chan struct{}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServer runs a node on a fresh port over dataDir and waits until it
// answers. Extra args are passed to `serve`; a `--rest-addr` among them may
// be replaced (restAddr gives the one in use).
//
// A port freeAddr found free can be taken before the server binds it
// (another process's outgoing connection gets it from the same ephemeral
// range): a first start that fails on a taken port is retried on new
// ones. A restart keeps its ports, which clients and peers know.
func startServer(t testing.TB, dataDir string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, args: slices.Clone(args), addr: freeAddr(t)}
	for tries := 1; ; tries++ {
		err := s.startUp()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || tries == 3 {
			t.Fatal(err)
		}
		s.addr = freeAddr(t)
		if i := s.restArg(); i >= 0 {
			s.args[i] = freeAddr(t)
		}
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(s.logs.String(), 8000))
		}
	})
	return s
}

// restAddr is the REST address the server was given with --rest-addr.
func (s *server) restAddr() string {
	if i := s.restArg(); i >= 0 {
		return s.args[i]
	}
	return ""
}

// restArg is the index in s.args of the --rest-addr value, -1 if none.
func (s *server) restArg() int {
	if i := slices.Index(s.args, "--rest-addr"); i >= 0 && i+1 < len(s.args) {
		return i + 1
	}
	return -1
}

// errPortTaken: the server exited during start-up because a port it was
// given is in use.
var errPortTaken = errors.New("a port the server was given is taken")

func (s *server) start() {
	s.t.Helper()
	if err := s.startUp(); err != nil {
		s.t.Fatal(err)
	}
}

// startUp runs the process and waits until it serves.
func (s *server) startUp() error {
	args := append([]string{"serve", "--data-dir", s.dataDir, "--grpc-addr", s.addr, "--rest-addr", "127.0.0.1:0"}, s.args...)
	s.cmd = exec.Command(binary, args...)
	s.cmd.WaitDelay = 10 * time.Second // Wait returns even if something inherited the output pipes
	s.logs = &testenv.LogBuffer{}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	if d, ok := s.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			go dumpNearDeadline(s.t.Name(), s.cmd.Process, s.exited, s.logs, deadline)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			if strings.Contains(s.logs.String(), "address already in use") {
				return fmt.Errorf("%w:\n%s", errPortTaken, s.logs)
			}
			return fmt.Errorf("server exited during start-up:\n%s", s.logs)
		default:
		}
		// The start-up line is printed once the listeners are bound: a
		// successful dial alone could reach another process that took the
		// port between freeAddr and our bind.
		if strings.Contains(s.logs.String(), "serving Flight SQL and OlapService") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server did not listen on %s within 60s:\n%s", s.addr, s.logs)
}

// cliCommand is exec.Command for a short-lived program a test runs to
// completion (`miniodb sql`, `go run`): it is killed if it has not finished
// within three minutes, so a hang fails the test instead of the whole run.
func cliCommand(t testing.TB, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// dumpNearDeadline makes a hung test diagnosable: if the process is still
// running 90 s before the test binary's deadline, it is sent SIGQUIT (the Go
// runtime then prints every goroutine) and its log is printed, so the
// server's side of the hang ends up next to the test binary's own dump.
func dumpNearDeadline(test string, p *os.Process, exited <-chan struct{}, logs *testenv.LogBuffer, deadline time.Time) {
	timer := time.NewTimer(time.Until(deadline) - 90*time.Second)
	defer timer.Stop()
	select {
	case <-exited:
		return
	case <-timer.C:
	}
	p.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
	fmt.Fprintf(os.Stderr, "\n%s: server still running near the test deadline; its log and goroutines:\n%s\n",
		test, tail(logs.String(), 60000))
}

// kill SIGKILLs the process (no flush, no drain) and waits for it.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server did not stop within 60s of SIGTERM:\n%s", s.logs)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Fatalf("server exited with %d after SIGTERM:\n%s", code, s.logs)
	}
}

// restart starts the process again on the same data and address.
func (s *server) restart() {
	s.t.Helper()
	s.start()
}

// rssKiB reads the server's resident set size and its peak.
func (s *server) rssKiB() (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			cur, _ = strconv.ParseInt(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			peak, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return cur, peak
}

func (s *server) client() *flightsql.Client {
	s.t.Helper()
	c, err := flightsql.NewClient(s.addr, nil, nil, bounded(
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)))...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// callBound caps every test call that has no deadline of its own, so a hung
// server fails the test with DeadlineExceeded instead of hanging it.
const callBound = 5 * time.Minute

func bounded(opts ...grpc.DialOption) []grpc.DialOption {
	return append(opts, grpc.WithChainUnaryInterceptor(boundedUnary), grpc.WithChainStreamInterceptor(boundedStream))
}

func boundedUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callBound)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func boundedStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if _, ok := ctx.Deadline(); ok {
		return streamer(ctx, desc, cc, method, opts...)
	}
	ctx, cancel := context.WithTimeout(ctx, callBound)
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelOnEnd{ClientStream: cs, cancel: cancel}, nil
}

// cancelOnEnd releases a stream's deadline timer once the stream has ended.
type cancelOnEnd struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func (s *cancelOnEnd) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}

// ingestMode names the TableDefinitionOptions of one ingest.
type ingestMode struct {
	ifMissing flightsql.TableDefinitionOptionsTableNotExistOption
	ifExists  flightsql.TableDefinitionOptionsTableExistsOption
}

var (
	modeCreate       = ingestMode{flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionFail}
	modeAppend       = ingestMode{flightsql.TableDefinitionOptionsTableNotExistOptionFail, flightsql.TableDefinitionOptionsTableExistsOptionAppend}
	modeCreateAppend = ingestMode{flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionAppend}
	modeReplace      = ingestMode{flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionReplace}
)

func ingestRecs(ctx context.Context, c *flightsql.Client, table string, mode ingestMode, recs ...arrow.RecordBatch) (int64, error) {
	rdr, err := array.NewRecordReader(recs[0].Schema(), recs)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	return c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{
		Table:                  table,
		TableDefinitionOptions: &flightsql.TableDefinitionOptions{IfNotExist: mode.ifMissing, IfExists: mode.ifExists},
	})
}

// queryAll runs sql and returns its schema and every batch of every
// endpoint. The caller releases the batches.
func queryAll(ctx context.Context, c *flightsql.Client, sql string) (*arrow.Schema, []arrow.RecordBatch, error) {
	info, err := c.Execute(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	var schema *arrow.Schema
	var recs []arrow.RecordBatch
	for _, ep := range info.Endpoint {
		rdr, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, nil, err
		}
		schema = rdr.Schema()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, nil, err
		}
	}
	return schema, recs, nil
}

// queryInts runs a query returning one row of integer columns.
func queryInts(t testing.TB, c *flightsql.Client, sql string) []int64 {
	t.Helper()
	_, recs, err := queryAll(context.Background(), c, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer releaseRecs(recs)
	for _, r := range recs {
		if r.NumRows() == 0 {
			continue
		}
		out := make([]int64, r.NumCols())
		for i, col := range r.Columns() {
			out[i] = intValue(t, col, 0)
		}
		return out
	}
	t.Fatalf("%s: no rows", sql)
	return nil
}

func intValue(t testing.TB, col arrow.Array, i int) int64 {
	t.Helper()
	if col.IsNull(i) {
		return -1 << 63
	}
	switch c := col.(type) {
	case *array.Int64:
		return c.Value(i)
	case *array.Int32:
		return int64(c.Value(i))
	case *array.Uint64:
		return int64(c.Value(i))
	case *array.Decimal128:
		return int64(c.Value(i).LowBits())
	}
	t.Fatalf("column type %s is not an integer", col.DataType())
	return 0
}

func releaseRecs(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func wantCode(t testing.TB, err error, code codes.Code, mustMention ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
	for _, m := range mustMention {
		if !strings.Contains(status.Convert(err).Message(), m) {
			t.Fatalf("message %q does not name %q", status.Convert(err).Message(), m)
		}
	}
}

// idBatch makes a batch with columns id (int64) and v (utf8) for ids
// [from, from+n).
func idBatch(from, n int64) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append("v" + strconv.FormatInt(i, 10))
	}
	return b.NewRecordBatch()
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ingestOpts builds the ingest options of one table and mode.
func ingestOpts(table string, mode ingestMode) *flightsql.ExecuteIngestOpts {
	return &flightsql.ExecuteIngestOpts{Table: table, TableDefinitionOptions: &flightsql.TableDefinitionOptions{
		IfNotExist: mode.ifMissing, IfExists: mode.ifExists}}
}

// openStream plans sql and opens the DoGet stream of its single endpoint.
func openStream(t testing.TB, c *flightsql.Client, sql string) *flight.Reader {
	t.Helper()
	ctx := context.Background()
	info, err := c.Execute(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	return rdr
}

// A first start whose port is taken retries on fresh ports.
func TestStartServerRetriesTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s := startServer(t, t.TempDir(), "--rest-addr", taken.Addr().String())
	if s.restAddr() == taken.Addr().String() {
		t.Fatal("the server kept the taken REST address")
	}
	resp, err := http.Get("http://" + s.restAddr() + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health on the new REST address: HTTP %d", resp.StatusCode)
	}
}

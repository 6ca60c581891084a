package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/miniodb/miniodb/testenv"
)

// TestCLILoadAndSQL runs the binary's client subcommands against a live
// server: load a CSV and a Parquet file, then query them in every format.
func TestCLILoadAndSQL(t *testing.T) {
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "people.csv")
	writeFile(t, csvPath, "id,name,score,joined\n1,ann,9.5,2024-01-02\n2,bob,7.25,2024-02-03\n3,cy,,2024-03-04\n")
	run := func(args ...string) string {
		t.Helper()
		cmd := cliCommand(t, binary, append(args, "--addr", s.addr)...)
		cmd.Env = os.Environ()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("miniodb %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("load", csvPath, "--table", "people"); !strings.Contains(out, "loaded 3 rows into people") {
		t.Fatalf("load csv printed %q", out)
	}
	tests := []struct {
		format string
		want   []string
	}{
		{"table", []string{"ann", "9.5", "(3 rows)"}},
		{"csv", []string{"id,name,score,joined", "1,ann,9.5,2024-01-02", "3,cy,,2024-03-04"}},
		{"json", []string{`{"id":1,"name":"ann","score":9.5,"joined":"2024-01-02"}`, `"score":null`}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out := run("sql", "--format", tt.format, "SELECT * FROM people ORDER BY id")
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Fatalf("%s output lacks %q:\n%s", tt.format, w, out)
				}
			}
		})
	}
	pqPath := filepath.Join(dir, "nums.parquet")
	writeParquetFile(t, pqPath, wideBatch(0, 100_000))
	if out := run("load", pqPath, "--table", "nums", "--batch-rows", "30000"); !strings.Contains(out, "loaded 100000 rows into nums") {
		t.Fatalf("load parquet printed %q", out)
	}
	if out := run("sql", "--format", "csv", "SELECT count(*) AS n, sum(k) AS s FROM nums"); !strings.Contains(out, "100000,4999950000") {
		t.Fatalf("parquet load then count: %q", out)
	}
	if out := run("sql", "--format", "arrow", "SELECT * FROM people"); !strings.HasPrefix(out, "\xff\xff\xff\xff") {
		t.Fatalf("arrow output does not start with an IPC continuation marker: %q", out[:min(16, len(out))])
	}
	// Errors come back with the server's message and a non-zero exit.
	cmd := cliCommand(t, binary, "sql", "--addr", s.addr, "SELECT * FROM read_csv('/etc/passwd')")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "read_csv") {
		t.Fatalf("refused query: err=%v output=%q", err, out)
	}
}

func writeParquetFile(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCLIOverTLS runs `miniodb sql` against a TLS-only server: refused
// without --tls-ca, answered with it.
func TestCLIOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "cli-ca")
	cert, key := ca.Issue(t, dir, "server", true)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(ca.PEM))
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "security:\n  enable_tls: true\n  tls: {cert_file: \""+cert+"\", key_file: \""+key+"\"}\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg, "--rest-addr", freeAddr(t))
	sql := func(extra ...string) (string, error) {
		cmd := cliCommand(t, binary, append([]string{"sql", "--addr", s.addr, "--format", "csv"}, append(extra, "SELECT 41 + 1 AS answer")...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sql(); err == nil {
		t.Fatalf("plaintext client was answered by a TLS server: %q", out)
	}
	out, err := sql("--tls-ca", caFile)
	if err != nil || !strings.Contains(out, "answer\n42") {
		t.Fatalf("sql --tls-ca: %v\n%s", err, out)
	}
	if out, err := sql("--tls"); err == nil {
		t.Fatalf("--tls with system roots trusted a private CA: %q", out)
	}
}

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/miniodb/miniodb/testenv"
)

// BenchmarkSuite is `make bench`: every workload once (each figure is the
// median of Options.Runs repetitions), then bench/results/report.{md,png}.
// It is a benchmark, never run by `go test` without -bench, and asserts no
// timing: goals are reported, not enforced.
func BenchmarkSuite(b *testing.B) {
	root, err := testenv.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	opt := LoadOptions(root)
	if os.Getenv("MINIODB_BENCH_RENDER") == "1" {
		if err := Rerender(opt.Out); err != nil {
			b.Fatal(err)
		}
		return
	}
	ctx := context.Background()
	work := b.TempDir()
	bin := filepath.Join(work, "miniodb")
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/miniodb")
	build.Dir, build.Stderr = root, os.Stderr
	if err := build.Run(); err != nil {
		b.Fatal(err)
	}
	s := &Suite{Opt: opt, Bin: bin, Work: work, Logf: b.Logf}
	start := time.Now()
	for range b.N {
		if err := s.Prepare(ctx); err != nil {
			b.Fatal(err)
		}
		step(b, "local", func() error { return s.Local(ctx) })
		step(b, "lookup", func() error { return s.LookupAndConcurrency(ctx) })
		if opt.MinIO {
			m := testenv.MinIO(b)
			extra := fmt.Sprintf("minio:\n  endpoint: %q\n  access_key_id: %q\n  secret_access_key: %q\n  bucket: bench\n",
				m.Endpoint, m.AccessKey, m.SecretKey)
			mc := MinIOConn{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: "bench"}
			step(b, "minio", func() error { return s.MinIOWorkloads(ctx, extra, mc) })
			r := testenv.Redis(b)
			step(b, "durability", func() error { return s.Durability(ctx, extra, r.Addr) })
		}
	}
	header := fmt.Sprintf("# MinIODB benchmark report\n\n%s UTC, %s/%s, %d cores, TPC-H SF%g, %d runs per figure (full scans, ingests and TPC-H: at least 5), took %s.\n"+
		"Reproduce: `make bench` (defaults: SF1, 3 runs) or `make bench SF=0.1 RUNS=5` (see README \"Performance\").\n\n"+
		"Every figure is the median (min–max) of the runs; the ratio is median/median against its baseline, measured "+
		"by the same process in the same run. The machine may be shared with other work while it runs: read the "+
		"ratios, not the absolute numbers.\n",
		time.Now().UTC().Format("2006-01-02 15:04"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), opt.SF, opt.Runs,
		time.Since(start).Round(time.Second))
	notes := strings.Join(s.Notes, "\n") + "\n" + optimizationNotes
	if err := WriteReport(opt.Out, header, notes, s.Figs); err != nil {
		b.Fatal(err)
	}
	b.Logf("report: %s\n%s", filepath.Join(opt.Out, "report.md"), Markdown(s.Figs))
}

func step(b *testing.B, name string, f func() error) {
	t := startTimer()
	if err := f(); err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	b.Logf("%s done in %.1fs", name, t.seconds())
}

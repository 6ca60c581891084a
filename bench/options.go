package bench

import (
	"os"
	"strconv"
	"time"
)

// Options are the sizes of one benchmark run.
type Options struct {
	SF          float64       // TPC-H scale factor of every TPC-H workload
	Runs        int           // repetitions per figure; the median is reported
	LookupRows  int           // rows of the point-lookup table
	LookupFiles int           // files (days) it is spread over
	Lookups     int           // point lookups per run
	MinIO       bool          // also run on a real MinIO server
	ConcTime    time.Duration // duration of the concurrency workload
	Out         string        // results folder
	Python      string        // interpreter with bench/tpch/requirements.txt
	DataDir     string        // TPC-H data cache (bench/tpch/data)
}

// LoadOptions reads the MINIODB_BENCH_* environment variables over the
// defaults, which keep `make bench` under 15 minutes on 2 cores.
func LoadOptions(root string) Options {
	o := Options{SF: 1, Runs: 3, LookupRows: 10_000_000, LookupFiles: 1000, Lookups: 200, MinIO: true,
		ConcTime: 20 * time.Second, Out: root + "/bench/results", Python: root + "/.venv/bin/python",
		DataDir: root + "/bench/tpch/data"}
	if v, err := strconv.ParseFloat(os.Getenv("MINIODB_BENCH_SF"), 64); err == nil && v > 0 {
		o.SF = v
	}
	if v, err := strconv.Atoi(os.Getenv("MINIODB_BENCH_RUNS")); err == nil && v > 0 {
		o.Runs = v
	}
	if v, err := strconv.Atoi(os.Getenv("MINIODB_BENCH_LOOKUP_ROWS")); err == nil && v > 0 {
		o.LookupRows = v
	}
	if os.Getenv("MINIODB_BENCH_MINIO") == "0" {
		o.MinIO = false
	}
	if v := os.Getenv("MINIODB_BENCH_OUT"); v != "" {
		o.Out = v
	}
	if v := os.Getenv("MINIODB_PYTHON"); v != "" {
		o.Python = v
	}
	return o
}

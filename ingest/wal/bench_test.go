package wal

import (
	"context"
	"testing"
)

// BenchmarkAppend measures Append+Wait with 1 KiB payloads from 32 goroutines
// per GOMAXPROCS, with and without fsync. records/fsync shows the batching.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name   string
		noSync bool
	}{{"fsync", false}, {"nosync", true}} {
		b.Run(bc.name, func(b *testing.B) {
			w, err := Open(Options{Dir: b.TempDir(), NoSync: bc.noSync})
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 1024)
			b.SetBytes(int64(len(payload)))
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p, err := w.Append(payload)
					if err == nil {
						err = p.Wait(context.Background())
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if f := w.flushes.Load(); f > 0 {
				b.ReportMetric(float64(w.LastLSN())/float64(f), "records/fsync")
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miniodb/miniodb/bench/tpch"
)

// Local runs ingest, scan and TPC-H on the embedded default (file object
// store, bbolt catalog).
func (s *Suite) Local(ctx context.Context) error {
	srv, err := s.startServer("local", "")
	if err != nil {
		return err
	}
	defer srv.Stop()
	if _, err := s.IngestAndScan(ctx, srv, "", true); err != nil {
		return fmt.Errorf("%w\n%s", err, srv.Logs())
	}
	if err := s.LoadTPCH(ctx, srv); err != nil {
		return fmt.Errorf("%w\n%s", err, srv.Logs())
	}
	return s.TPCH(ctx, srv, "", "", nil, nil)
}

// LookupAndConcurrency runs the point lookups on a node with one partition
// (one file per day), then the mixed 8-client workload on it.
func (s *Suite) LookupAndConcurrency(ctx context.Context) error {
	srv, err := s.startServer("lookup", "storage:\n  partitions: 1\n")
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := s.Lookup(ctx, srv); err != nil {
		return fmt.Errorf("%w\n%s", err, srv.Logs())
	}
	c, err := srv.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := Ingest(ctx, c, "lineitem", s.liSch, s.lineite); err != nil {
		return err
	}
	// The queries read lineitem from its files, as in the other workloads:
	// a query over rows still buffered copies them into DuckDB first
	// (query/session.go bufferRelation), seconds for SF1's 6 M rows.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := srv.WaitFlushed(wctx, "lineitem", countRows(s.lineite)); err != nil {
		return err
	}
	return s.Concurrency(ctx, srv, "lineitem")
}

// MinIOWorkloads runs ingest, scan and TPC-H with objects on MinIO, with a
// cold cache (node restarted, cache folder removed) and a warm one.
func (s *Suite) MinIOWorkloads(ctx context.Context, extra string, mc MinIOConn) error {
	srv, err := s.startServer("minio", extra)
	if err != nil {
		return err
	}
	defer srv.Stop()
	table, err := s.IngestAndScan(ctx, srv, "minio ", false)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, srv.Logs())
	}
	restart := func() error {
		srv.Stop()
		if err := removeCache(srv.DataDir); err != nil {
			return err
		}
		return srv.Start()
	}
	raw, err := startRaw(s.liSch, s.lineite)
	if err != nil {
		return err
	}
	defer raw.Close()
	if raw.fetched, err = newFetchedFiles(ctx, mc, table); err != nil {
		return err
	}
	if err := raw.fetched.hold(ctx); err != nil {
		return err
	}
	rc, err := rawClient(raw.Addr)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := s.coldScan(ctx, srv, rc, table, restart); err != nil {
		return err
	}
	c, err := srv.Client()
	if err != nil {
		return err
	}
	err = s.Scan(ctx, srv, c, rc, table, "minio ", "warm cache")
	c.Close()
	if err != nil {
		return err
	}
	if err := s.LoadTPCH(ctx, srv); err != nil {
		return err
	}
	fetch := func(ctx context.Context, dir string) (map[string][]string, error) {
		return fetchTables(ctx, mc, tpch.Tables(), dir)
	}
	if err := s.TPCH(ctx, srv, "minio ", "cold cache", restart, fetch); err != nil {
		return err
	}
	return s.TPCH(ctx, srv, "minio ", "warm cache", nil, nil)
}

func (s *Suite) coldScan(ctx context.Context, srv *Server, rc rawGetter, table string, restart func() error) error {
	var thr, base, fetched, decoded, info, first, rss []float64
	for range s.Opt.Runs {
		if err := restart(); err != nil {
			return err
		}
		before := ResetPeakRSS(srv.Pid())
		rate, err := rawRate(ctx, rc, "all")
		if err != nil {
			return err
		}
		base = append(base, rate)
		if rate, err = rawRate(ctx, rc, "fetched"); err != nil {
			return err
		}
		fetched = append(fetched, rate)
		if rate, err = rawRate(ctx, rc, "decoded"); err != nil {
			return err
		}
		decoded = append(decoded, rate)
		c, err := srv.Client()
		if err != nil {
			return err
		}
		t := startTimer()
		res, err := Query(ctx, c, "SELECT * FROM "+table, false)
		c.Close()
		if err != nil {
			return err
		}
		thr = append(thr, float64(res.Bytes)/t.seconds()/(1<<20))
		info = append(info, res.Info*1000)
		first = append(first, res.FirstBatch*1000)
		rss = append(rss, float64(PeakRSS(srv.Pid())-before)/(1<<20))
	}
	s.add(Figure{Name: "minio full scan DoGet (lineitem)", Unit: "MiB/s", Values: thr, Base: base, BaseName: "raw DoGet", Goal: ">= 0.8", Note: "cold cache"})
	s.add(Figure{Name: "minio full scan DoGet vs fetched files", Unit: "MiB/s", Values: thr, Base: fetched,
		BaseName: "raw DoGet fetching the same files from MinIO and decoding them (arrow-go)", Note: "cold cache"})
	s.add(Figure{Name: "decoding ceiling: raw DoGet decoding the same files, held in memory (arrow-go, no download)", Unit: "MiB/s",
		Values: decoded, Base: base, BaseName: "raw DoGet", Note: "the most any cold scan that decodes these Parquet files streams on this machine"})
	s.add(Figure{Name: "minio scan GetFlightInfo", Unit: "ms", Values: info,
		Note: "cold cache, before the DoGet: the node describes the scan, fetching one of the files"})
	s.add(Figure{Name: "minio scan time to first batch", Unit: "ms", Values: first, Goal: "< 10", Note: "cold cache"})
	s.add(Figure{Name: "minio scan peak RSS growth", Unit: "MiB", Values: rss,
		Note: "cold cache; includes the memory cache filling with the decoded files (cache.memory_bytes, 1 GiB)"})
	return nil
}

// Durability measures what durability beyond one machine costs, against
// the raw DoPut of the same run: durable ingest with wal.replicate:
// objstore (every WAL group also put into MinIO before the ack), and
// ingest through the first node of a three-node cluster on Redis and
// MinIO, where lineitem's batches (it has no id column) go round robin to
// the partitions' owners and each ingest commits in two phases.
func (s *Suite) Durability(ctx context.Context, minioExtra, redisAddr string) error {
	// Each deployment gets its own bucket: a node refuses to start a new
	// catalog over a bucket that holds another's objects.
	bucket := func(name string) string {
		return strings.Replace(minioExtra, "bucket: bench\n", "bucket: "+name+"\n", 1)
	}
	srv, err := s.startServer("minio-shipped", bucket("bench-shipped")+"wal:\n  replicate: objstore\n")
	if err != nil {
		return err
	}
	_, err = s.IngestAndScan(ctx, srv, "minio wal.replicate=objstore ", false)
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, srv.Logs())
	}
	srv.Stop()
	if err != nil {
		return err
	}
	cluster := bucket("bench-cluster") + fmt.Sprintf("redis:\n  addr: %q\n  namespace: bench\ncluster:\n  lease: 3s\n", redisAddr)
	var nodes []*Server
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	for i := range 3 {
		n, err := s.startServer(fmt.Sprintf("cluster-%d", i), cluster+fmt.Sprintf("server:\n  node_id: bench-%d\n", i))
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	_, err = s.IngestAndScan(ctx, nodes[0], "3-node cluster ", false)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, nodes[0].Logs())
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/shard"
)

// bufferedRows reads a node's miniodb_table_buffered_rows of table from
// its /metrics.
func (n *clusterNode) bufferedRows(t *testing.T, table string) int64 {
	t.Helper()
	for _, line := range strings.Split(metricsText(t, n.rest), "\n") {
		if strings.HasPrefix(line, "miniodb_table_buffered_rows{") && strings.Contains(line, `table="`+table+`"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			return int64(v)
		}
	}
	return 0
}

// startThreeNodes starts node-a, node-b and node-c with the extra config
// and waits until node-a and node-b list all three healthy.
func startThreeNodes(t *testing.T, env *storeEnv, extra string) (a, b, c *clusterNode) {
	t.Helper()
	a, b, c = startClusterNode(t, env, "node-a", extra), startClusterNode(t, env, "node-b", extra), startClusterNode(t, env, "node-c", extra)
	for _, n := range []*clusterNode{a, b} {
		waitUntil(t, 10*time.Second, n.id+" lists three nodes healthy", func() bool {
			st := n.states(t)
			return len(st) == 3 && st["node-a"] == "healthy" && st["node-b"] == "healthy" && st["node-c"] == "healthy"
		})
	}
	return a, b, c
}

// totals is count(*), count(DISTINCT id), sum(id) of table through c.
func totals(ctx context.Context, t *testing.T, c *flightsql.Client, table string) ([3]int64, error) {
	_, recs, err := queryAll(ctx, c, "SELECT count(*), count(DISTINCT id), sum(id) FROM "+table)
	defer releaseRecs(recs)
	if err != nil {
		return [3]int64{}, err
	}
	return [3]int64{intValue(t, recs[0].Column(0), 0), intValue(t, recs[0].Column(1), 0), intValue(t, recs[0].Column(2), 0)}, nil
}

// idsTotals is what totals says of the ids [0, n).
func idsTotals(n int64) [3]int64 { return [3]int64{n, n, n * (n - 1) / 2} }

// Rows go to the owners of their partitions whichever node takes the
// ingest: each node's buffer holds exactly the rows the ring gives it. An
// ingest that needs an owner that is dead fails as a whole with
// UNAVAILABLE naming it; once its lease runs out its partitions move and
// the same ingest succeeds (a survivor that lost partitions in the new
// ring flushes its buffer); after it restarts, every acknowledged row is
// there once and the failed attempt left nothing.
func TestClusterPlacement(t *testing.T) {
	env := newStoreEnv(t)
	slow := "buffer:\n  flush_interval: 1h\n"
	a, b, c := startThreeNodes(t, env, slow)
	nodes := []*clusterNode{a, b, c}
	ctx := context.Background()
	ca := a.client()
	batch := idBatch(0, 3000)
	defer batch.Release()
	if _, err := ingestRecs(ctx, ca, "place", modeCreate, batch); err != nil {
		t.Fatal(err)
	}
	// Every node computes the same ring from the same registry.
	var reg []catalog.Node
	for _, n := range nodes {
		reg = append(reg, catalog.Node{ID: n.id, Addr: n.addr, State: catalog.NodeUp})
	}
	ring, err := shard.NewRing(8, reg)
	if err != nil {
		t.Fatal(err)
	}
	owner := func(p int) string { o, _ := ring.Owner(p); return o.ID }
	want := map[string]int64{}
	for id, rec := range ingest.SplitByOwner(memory.DefaultAllocator, batch, "", 8, 0, owner) {
		want[id] = rec.NumRows()
		rec.Release()
	}
	for _, n := range nodes {
		if got, w := n.bufferedRows(t, "place"), want[n.id]; got != w || w == 0 {
			t.Errorf("%s buffers %d rows, its partitions hold %d", n.id, got, w)
		}
	}
	if got, err := totals(ctx, t, b.client(), "place"); err != nil || got != idsTotals(3000) {
		t.Fatalf("node-b answers %v, %v; want %v", got, err, idsTotals(3000))
	}

	c.kill()
	more := idBatch(3000, 300)
	defer more.Release()
	_, err = ingestRecs(ctx, ca, "place", modeAppend, more)
	wantCode(t, err, codes.Unavailable, "node-c")
	waitUntil(t, 10*time.Second, "node-c listed down", func() bool { return a.states(t)["node-c"] == "down" })
	// The ring has moved node-c's partitions: the same rows go in now.
	waitUntil(t, 10*time.Second, "the retried ingest succeeds", func() bool {
		_, err := ingestRecs(ctx, ca, "place", modeAppend, more)
		return err == nil
	})
	c.restart()
	// node-c replayed its own rows and took none of the retried ones.
	if got := c.bufferedRows(t, "place"); got != want[c.id] {
		t.Fatalf("node-c buffers %d rows after its restart, want the %d it acknowledged", got, want[c.id])
	}
	for _, n := range nodes {
		waitUntil(t, 20*time.Second, n.id+" answers every acknowledged row once", func() bool {
			got, err := totals(ctx, t, n.client(), "place")
			return err == nil && got == idsTotals(3300)
		})
	}
}

// Writers keep ingesting through two nodes while a third is SIGKILLed and
// restarted and a fourth joins. A failed ingest is retried with the same
// rows: since a failure leaves nothing anywhere, every row ends up exactly
// once. After every write, both nodes answer: the whole table, or, while
// the dead node's WAL may hold rows no one else can read, UNAVAILABLE
// naming it; asked for partial results they always answer, with every row
// at most once.
func TestClusterIngestThroughKill(t *testing.T) {
	env := newStoreEnv(t)
	cfg := "buffer:\n  flush_interval: 300ms\n"
	a, b, c := startThreeNodes(t, env, cfg)
	ctx := context.Background()
	clients := []*flightsql.Client{a.client(), b.client()}
	if _, err := ingestRecs(ctx, clients[0], "churn", modeCreate, idBatch(0, 10)); err != nil {
		t.Fatal(err)
	}
	acked, failed := int64(10), 0
	ingestOnce := func(i int) {
		rec := idBatch(acked, 50)
		defer rec.Release()
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, err := ingestRecs(ctx, clients[i%len(clients)], "churn", modeAppend, rec)
			if err == nil {
				acked += 50
				return
			}
			if code := status.Code(err); code != codes.Unavailable || time.Now().After(deadline) {
				t.Fatalf("ingest %d: %v", i, err)
			}
			failed++
			time.Sleep(50 * time.Millisecond)
		}
	}
	partial := metadata.AppendToOutgoingContext(ctx, flight.PartialResultsHeader, "true")
	unavailable := 0
	for i := range 60 {
		switch i {
		case 15:
			c.kill()
		case 30:
			c.restart()
		case 45:
			d := startClusterNode(t, env, "node-d", cfg)
			clients = append(clients, d.client())
		}
		ingestOnce(i)
		for _, cl := range clients[:2] {
			got, err := totals(ctx, t, cl, "churn")
			switch {
			case status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "node-c"):
				unavailable++
			case err != nil:
				t.Fatalf("query after write %d: %v", i, err)
			case got != idsTotals(acked):
				t.Fatalf("query after write %d: %v, want %v", i, got, idsTotals(acked))
			}
			got, err = totals(partial, t, cl, "churn")
			if err != nil || got[0] != got[1] || got[0] > acked {
				t.Fatalf("partial query after write %d: %v, %v (acknowledged %d)", i, got, err, acked)
			}
		}
	}
	t.Logf("%d rows acknowledged, %d failed attempts retried, %d queries refused while node-c was down", acked, failed, unavailable)
	for i, cl := range clients {
		waitUntil(t, 20*time.Second, fmt.Sprintf("client %d sees every row once", i), func() bool {
			got, err := totals(ctx, t, cl, "churn")
			return err == nil && got == idsTotals(acked)
		})
	}
}

// With wal.replicate: objstore, a node that dies for good loses nothing and
// blocks nobody: once its lease runs out, the live node with the smallest
// ID replays its shipped WAL into files and removes it from the registry,
// and every query answers every acknowledged row again. When the node
// comes back anyway, its own replay skips what was adopted.
func TestClusterNodeLossWithShippedWAL(t *testing.T) {
	env := newStoreEnv(t)
	cfg := "buffer:\n  flush_interval: 1h\nwal:\n  replicate: objstore\n"
	a, b, c := startThreeNodes(t, env, cfg)
	ctx := context.Background()
	ca, cb := a.client(), b.client()
	if _, err := ingestRecs(ctx, ca, "lost", modeCreate, idBatch(0, 3000)); err != nil {
		t.Fatal(err)
	}
	if got := c.bufferedRows(t, "lost"); got == 0 {
		t.Fatal("node-c took none of the rows")
	}
	killed := time.Now()
	c.kill()
	waitUntil(t, 20*time.Second, "node-c adopted and removed from the registry", func() bool {
		_, listed := b.states(t)["node-c"]
		return !listed
	})
	adopted := time.Since(killed)
	for name, cl := range map[string]*flightsql.Client{"node-a": ca, "node-b": cb} {
		if got, err := totals(ctx, t, cl, "lost"); err != nil || got != idsTotals(3000) {
			t.Fatalf("%s after node-c's adoption: %v, %v; want %v", name, got, err, idsTotals(3000))
		}
	}
	t.Logf("node-c SIGKILLed; adopted and every row answered again after %s (lease 1s)", adopted.Round(10*time.Millisecond))
	// node-b's ring may still hold node-c for a refresh after its removal:
	// a write with rows for it fails whole until then.
	more := idBatch(3000, 500)
	defer more.Release()
	waitUntil(t, 10*time.Second, "a write through node-b after node-c's removal", func() bool {
		_, err := ingestRecs(ctx, cb, "lost", modeAppend, more)
		if err != nil && status.Code(err) != codes.Unavailable {
			t.Fatal(err)
		}
		return err == nil
	})
	c.restart()
	if got := c.bufferedRows(t, "lost"); got != 0 {
		t.Fatalf("node-c buffers %d rows after its return; its rows were adopted", got)
	}
	for _, n := range []*clusterNode{a, b, c} {
		waitUntil(t, 20*time.Second, n.id+" answers every row once", func() bool {
			got, err := totals(ctx, t, n.client(), "lost")
			return err == nil && got == idsTotals(3500)
		})
	}
}

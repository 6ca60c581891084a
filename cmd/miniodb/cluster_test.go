package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/miniodb/miniodb/bench/tpch"
	"github.com/miniodb/miniodb/flight"

	"github.com/miniodb/miniodb/testenv"
)

// clusterNode is one `miniodb serve` of a test cluster with its REST port.
type clusterNode struct {
	*server
	id, rest string
}

// startClusterNode starts node id on env's Redis and MinIO with a short
// lease.
func startClusterNode(t *testing.T, env *storeEnv, id string, extra string, clusterKeys ...string) *clusterNode {
	t.Helper()
	cluster := "cluster:\n  lease: 1s\n"
	for _, k := range clusterKeys {
		cluster += "  " + k + "\n"
	}
	cfg := env.config(t, fmt.Sprintf("server:\n  node_id: %q\n%s%s", id, cluster, extra))
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--config", cfg, "--rest-addr", freeAddr(t))
	return &clusterNode{server: s, id: id, rest: s.restAddr()}
}

type nodeList struct {
	Total int `json:"total"`
	Nodes []struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Address     string `json:"address"`
		RESTAddress string `json:"rest_address"`
	} `json:"nodes"`
}

func (n *clusterNode) nodes(t *testing.T) nodeList {
	t.Helper()
	resp, err := http.Get("http://" + n.rest + "/v1/nodes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out nodeList
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/nodes: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// states maps node id to status as n sees them.
func (n *clusterNode) states(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, x := range n.nodes(t).Nodes {
		out[x.ID] = x.Status
	}
	return out
}

// Three nodes on one Redis and one MinIO see each other in /v1/nodes; a
// SIGKILLed node is listed down once its lease runs out and healthy again
// after a restart; a node stopped with SIGTERM leaves the list; a second
// process claiming a live node's id is refused.
func TestClusterMembership(t *testing.T) {
	env := newStoreEnv(t)
	a := startClusterNode(t, env, "node-a", "")
	b := startClusterNode(t, env, "node-b", "")
	c := startClusterNode(t, env, "node-c", "")
	waitUntil(t, 10*time.Second, "three nodes listed healthy", func() bool {
		st := a.states(t)
		return len(st) == 3 && st["node-a"] == "healthy" && st["node-b"] == "healthy" && st["node-c"] == "healthy"
	})
	for _, x := range b.nodes(t).Nodes {
		want := map[string]*clusterNode{"node-a": a, "node-b": b, "node-c": c}[x.ID]
		if want == nil || x.Address != want.addr || x.RESTAddress != want.rest {
			t.Fatalf("node-b lists %+v, want the advertised addresses of %s (%s, %s)", x, x.ID, want.addr, want.rest)
		}
	}

	killed := time.Now()
	c.kill()
	waitUntil(t, 10*time.Second, "node-c listed down after SIGKILL", func() bool { return b.states(t)["node-c"] == "down" })
	t.Logf("SIGKILLed node listed down after %s (lease 1s)", time.Since(killed).Round(10*time.Millisecond))
	c.restart()
	waitUntil(t, 10*time.Second, "node-c healthy after restart", func() bool { return a.states(t)["node-c"] == "healthy" })

	b.stop()
	waitUntil(t, 10*time.Second, "node-b gone after SIGTERM", func() bool {
		_, listed := a.states(t)["node-b"]
		return !listed
	})

	out := serveFails(t, t.TempDir(), "--config", env.config(t, "server:\n  node_id: node-a\n"))
	mustContain(t, out, "node id node-a is in use by a live node at "+a.addr)
}

// Two nodes ingest into one table of one Redis catalog and one MinIO
// bucket: each flushes at its own WAL positions, each answers with the
// other's flushed rows after its catalog refresh, and a SIGKILL and restart
// of one of them neither loses nor duplicates a row.
func TestClusterSharedTableFlushes(t *testing.T) {
	env := newStoreEnv(t)
	extra := "buffer:\n  flush_interval: 200ms\n"
	a := startClusterNode(t, env, "node-a", extra)
	b := startClusterNode(t, env, "node-b", extra)
	ca, cb := a.client(), b.client()
	ctx := context.Background()
	if _, err := ingestRecs(ctx, ca, "shared", modeCreate, idBatch(0, 1000)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "node-b sees node-a's flushed rows", func() bool {
		_, recs, err := queryAll(ctx, cb, "SELECT count(*) FROM shared")
		defer releaseRecs(recs)
		return err == nil && len(recs) == 1 && intValue(t, recs[0].Column(0), 0) == 1000
	})
	// A node that has not refreshed since another created a table still
	// appends to it rather than failing.
	if _, err := ingestRecs(ctx, cb, "other", modeCreateAppend, idBatch(0, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestRecs(ctx, ca, "other", modeAppend, idBatch(3, 2)); err != nil {
		t.Fatalf("append on node-a right after node-b created the table: %v", err)
	}
	if _, err := ingestRecs(ctx, cb, "shared", modeAppend, idBatch(1000, 500)); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestRecs(ctx, ca, "shared", modeAppend, idBatch(1500, 250)); err != nil {
		t.Fatal(err)
	}
	want := []int64{1750, 1750, 1749 * 1750 / 2}
	same := func(c *flightsql.Client) func() bool {
		return func() bool {
			_, recs, err := queryAll(ctx, c, "SELECT count(*), count(DISTINCT id), sum(id) FROM shared")
			defer releaseRecs(recs)
			if err != nil || len(recs) != 1 {
				return false
			}
			for i, w := range want {
				if intValue(t, recs[0].Column(i), 0) != w {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, 20*time.Second, "node-a answers every row once", same(ca))
	waitUntil(t, 20*time.Second, "node-b answers every row once", same(cb))

	b.kill()
	b.restart()
	waitUntil(t, 20*time.Second, "node-b answers every row once after SIGKILL and restart", same(b.client()))
	waitUntil(t, 20*time.Second, "node-a still answers every row once", same(ca))
}

// A query on any node sees every acknowledged row, buffered on whichever
// node took it: node-to-node buffer pulls, cut consistently with the
// files. A node that is unreachable fails the query with UNAVAILABLE
// naming it; after its restart and WAL replay every row is back, once.
func TestClusterReadYourWrites(t *testing.T) {
	env := newStoreEnv(t)
	slow := "buffer:\n  flush_interval: 1h\n"
	a := startClusterNode(t, env, "node-a", slow)
	b := startClusterNode(t, env, "node-b", slow)
	ca, cb := a.client(), b.client()
	ctx := context.Background()
	count := func(c *flightsql.Client) (int64, int64, error) {
		_, recs, err := queryAll(ctx, c, "SELECT count(*), sum(id) FROM rw")
		defer releaseRecs(recs)
		if err != nil {
			return 0, 0, err
		}
		return intValue(t, recs[0].Column(0), 0), intValue(t, recs[0].Column(1), 0), nil
	}
	if _, err := ingestRecs(ctx, ca, "rw", modeCreate, idBatch(0, 1000)); err != nil {
		t.Fatal(err)
	}
	if n, sum, err := count(cb); err != nil || n != 1000 || sum != 999*1000/2 {
		t.Fatalf("node-b right after node-a's ingest: count %d sum %d, %v", n, sum, err)
	}
	if _, err := ingestRecs(ctx, cb, "rw", modeAppend, idBatch(1000, 500)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*flightsql.Client{"node-a": ca, "node-b": cb} {
		if n, sum, err := count(c); err != nil || n != 1500 || sum != 1499*1500/2 {
			t.Fatalf("%s: count %d sum %d, %v", name, n, sum, err)
		}
	}

	b.kill()
	_, _, err := count(ca)
	wantCode(t, err, codes.Unavailable, "node-b")
	waitUntil(t, 10*time.Second, "node-b listed down", func() bool { return a.states(t)["node-b"] == "down" })
	_, _, err = count(ca)
	wantCode(t, err, codes.Unavailable, "node-b")
	b.restart()
	waitUntil(t, 20*time.Second, "node-a answers every row once after node-b's restart", func() bool {
		n, sum, err := count(ca)
		return err == nil && n == 1500 && sum == 1499*1500/2
	})
}

// Queries racing flushes on every node never miss or double a row: each
// node's files beyond the WAL position its pulled buffer was cut at are
// left out. Halfway through, a third node joins and takes writes and
// queries at once.
func TestClusterReadsDuringFlushes(t *testing.T) {
	env := newStoreEnv(t)
	fast := "buffer:\n  flush_interval: 100ms\n"
	a := startClusterNode(t, env, "node-a", fast)
	b := startClusterNode(t, env, "node-b", fast)
	ca, cb := a.client(), b.client()
	ctx := context.Background()
	if _, err := ingestRecs(ctx, ca, "race", modeCreate, idBatch(0, 10)); err != nil {
		t.Fatal(err)
	}
	var acked int64 = 10
	clients := []*flightsql.Client{ca, cb}
	for i := range 40 {
		if i == 20 { // a node joins under load
			clients = append(clients, startClusterNode(t, env, "node-c", fast).client())
		}
		c := clients[i%len(clients)]
		if _, err := ingestRecs(ctx, c, "race", modeAppend, idBatch(acked, 25)); err != nil {
			t.Fatal(err)
		}
		acked += 25
		for _, q := range clients {
			_, recs, err := queryAll(ctx, q, "SELECT count(*), count(DISTINCT id) FROM race")
			if err != nil {
				t.Fatal(err)
			}
			n, distinct := intValue(t, recs[0].Column(0), 0), intValue(t, recs[0].Column(1), 0)
			releaseRecs(recs)
			if n != acked || distinct != acked {
				t.Fatalf("after %d acknowledged rows a query counts %d (%d distinct)", acked, n, distinct)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With authentication on, nodes pull each other's buffers with the cluster
// secret; a wrong secret is refused, and a node's credential fetches
// buffers only, never a user's query.
func TestClusterPeerAuth(t *testing.T) {
	env := newStoreEnv(t)
	sec, err := os.ReadFile(secureConfig(t, t.TempDir(), ""))
	if err != nil {
		t.Fatal(err)
	}
	extra := "buffer:\n  flush_interval: 1h\n" + string(sec)
	const secret = "cluster-secret-0123456789"
	a := startClusterNode(t, env, "node-a", extra, "secret: "+secret)
	b := startClusterNode(t, env, "node-b", extra, "secret: "+secret)
	ca, cb := a.client(), b.client()
	actxA, actxB := login(t, ca, "root", "root-pw"), login(t, cb, "root", "root-pw")
	if _, err := ingestRecs(actxA, ca, "sec", modeCreate, idBatch(0, 100)); err != nil {
		t.Fatal(err)
	}
	if n, err := count(t, actxB, cb, "SELECT count(*) FROM sec"); err != nil || n != 100 {
		t.Fatalf("node-b counts %d, %v; want node-a's 100 buffered rows", n, err)
	}

	// A peer pull by hand: the right secret reads the buffer, a wrong one
	// is refused, and a node credential cannot run SQL.
	pull := func(secret string) (int64, error) {
		p := flight.NewPeers("node-x", secret, grpc.WithTransportCredentials(insecure.NewCredentials()))
		defer p.Close()
		sn, err := p.Buffer(context.Background(), "node-a", a.addr, "sec")
		if err != nil {
			return 0, err
		}
		defer sn.Release()
		return sn.Rows(), nil
	}
	if n, err := pull(secret); err != nil || n != 100 {
		t.Fatalf("peer pull with the cluster secret: %d rows, %v", n, err)
	}
	_, err = pull("wrong-secret-0123456789")
	wantCode(t, err, codes.Unauthenticated)
	info, err := ca.Execute(actxA, "SELECT count(*) FROM sec")
	if err != nil {
		t.Fatal(err)
	}
	peerCtx := metadata.AppendToOutgoingContext(context.Background(), flight.PeerHeader, flight.PeerToken(secret, "node-x"))
	rdr, err := ca.DoGet(peerCtx, info.Endpoint[0].Ticket)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	wantCode(t, err, codes.PermissionDenied, "node-to-node credentials")

	out := serveFails(t, t.TempDir(), "--config", env.config(t, string(sec)))
	mustContain(t, out, "cluster.secret must be set")
}

// Nodes serving mTLS pull each other's buffers over TLS, verifying the
// cluster CA and presenting their client certificate.
func TestClusterPeersOverMTLS(t *testing.T) {
	env := newStoreEnv(t)
	dir := t.TempDir()
	ca := testenv.NewCA(t, "cluster-ca")
	cert, key := ca.Issue(t, dir, "server", true)
	peerCert, peerKey := ca.Issue(t, dir, "node-peer", false)
	user, userKey := ca.Issue(t, dir, "user", false)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(ca.PEM))
	sec := fmt.Sprintf("buffer:\n  flush_interval: 1h\nsecurity:\n  enable_tls: true\n  tls: {cert_file: %q, key_file: %q, client_ca_file: %q}\n", cert, key, caFile)
	keys := []string{"tls_ca_file: " + caFile, "tls_cert_file: " + peerCert, "tls_key_file: " + peerKey}
	a := startClusterNode(t, env, "node-a", sec, keys...)
	b := startClusterNode(t, env, "node-b", sec, keys...)
	pair, err := tls.LoadX509KeyPair(user, userKey)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{pair}}
	ca1, cb1 := tlsClient(t, a.addr, clientTLS), tlsClient(t, b.addr, clientTLS)
	ctx := context.Background()
	if _, err := ingestRecs(ctx, ca1, "tlsrows", modeCreate, idBatch(0, 42)); err != nil {
		t.Fatal(err)
	}
	if n := queryInts(t, cb1, "SELECT count(*) FROM tlsrows")[0]; n != 42 {
		t.Fatalf("node-b counts %d, want node-a's 42 buffered rows pulled over mTLS", n)
	}
}

// The 22 TPC-H queries on a three-node cluster answer exactly as DuckDB
// does on the same files, with every table's rows spread over the nodes,
// part flushed and part in the nodes' buffers, and again after one node
// has stopped (flushed and left).
func TestClusterTPCH(t *testing.T) {
	data, queries := tpchData(t)
	env := newStoreEnv(t)
	extra := "buffer:\n  buffer_size: 20000\n  flush_interval: 1h\n"
	nodes := []*clusterNode{
		startClusterNode(t, env, "node-a", extra),
		startClusterNode(t, env, "node-b", extra),
		startClusterNode(t, env, "node-c", extra),
	}
	clients := []*flightsql.Client{nodes[0].client(), nodes[1].client(), nodes[2].client()}
	for _, table := range tpch.Tables() {
		spreadParquet(t, clients, filepath.Join(data, table+".parquet"), table)
	}
	if len(parquetFiles(t, nodes[0].dataDir)) != 0 {
		t.Fatal("node-a wrote objects under its data folder; the cluster's objects belong in MinIO")
	}
	// Part of lineitem and orders crossed buffer_size on some node and is
	// in Parquet; the rest of every table is in the three buffers.
	waitUntil(t, 20*time.Second, "some rows flushed to MinIO", func() bool { return len(env.objects(t)) > 0 })
	t.Run("three_nodes", func(t *testing.T) { runTPCH(t, clients[2], data, queries) })
	nodes[1].stop()
	t.Run("after_node_b_left", func(t *testing.T) { runTPCH(t, clients[0], data, queries) })
}

// spreadParquet ingests a Parquet file in 8192-row batches, one DoPut per
// batch, round-robin over the clients' nodes.
func spreadParquet(t *testing.T, clients []*flightsql.Client, path, table string) {
	t.Helper()
	rr, rows := parquetBatches(t, path)
	var total int64
	for i := 0; rr.Next(); i++ {
		mode := modeAppend
		if i == 0 {
			mode = modeCreate
		}
		n, err := ingestRecs(context.Background(), clients[i%len(clients)], table, mode, rr.RecordBatch())
		if err != nil {
			t.Fatalf("ingest batch %d of %s: %v", i, table, err)
		}
		total += n
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	if total != rows {
		t.Fatalf("ingested %d rows of %s, want %d", total, table, rows)
	}
}

// A replace, and a drop and re-create, on one node leave nothing of the old
// table in any answer, although another node still buffered rows of it;
// that node's racing append is refused with ABORTED, never half-kept.
func TestClusterReplaceAcrossNodes(t *testing.T) {
	env := newStoreEnv(t)
	slow := "buffer:\n  flush_interval: 1h\n"
	a := startClusterNode(t, env, "node-a", slow)
	b := startClusterNode(t, env, "node-b", slow)
	ca, cb := a.client(), b.client()
	ctx := context.Background()
	if _, err := ingestRecs(ctx, ca, "rep", modeCreate, idBatch(0, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestRecs(ctx, cb, "rep", modeAppend, idBatch(100, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestRecs(ctx, ca, "rep", modeReplace, idBatch(1000, 3)); err != nil {
		t.Fatal(err)
	}
	want := func(c *flightsql.Client, n, sum int64) {
		t.Helper()
		got := queryInts(t, c, "SELECT count(*), sum(id) FROM rep")
		if got[0] != n || got[1] != sum {
			t.Fatalf("count, sum = %v, want [%d %d]", got, n, sum)
		}
	}
	want(ca, 3, 3003) // at once, before node-b has refreshed
	want(cb, 3, 3003)
	// node-b's append either lands in the new table or, if it raced node-b's
	// refresh, is refused whole; retried, it lands once.
	for {
		_, err := ingestRecs(ctx, cb, "rep", modeAppend, idBatch(2000, 1))
		if err == nil {
			break
		}
		wantCode(t, err, codes.Aborted, "replaced by another node")
		time.Sleep(50 * time.Millisecond)
	}
	want(ca, 4, 5003)

	// DROP on node-a, re-create with other rows at once: node-b's rows of
	// the dropped table (id 2000) appear nowhere.
	if _, err := ca.ExecuteUpdate(ctx, "DROP TABLE rep"); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestRecs(ctx, ca, "rep", modeCreate, idBatch(5000, 2)); err != nil {
		t.Fatal(err)
	}
	want(ca, 2, 10001)
	want(cb, 2, 10001)
	b.kill() // and its WAL replays none of the old rows
	b.restart()
	want(b.client(), 2, 10001)
}

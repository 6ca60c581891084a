package main

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	arrowflight "github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/miniodb/miniodb/flight"
)

// scanResult is what the endpoints of one FlightInfo returned.
type scanResult struct {
	rows, sum int64
	distinct  int
	perLoc    map[string]int64 // rows fetched from each location
}

// fetchParallel fetches every endpoint of info from its own location at
// once, as a client that follows locations does: the reuse-connection
// location over home, a grpc+tcp location over a new connection to it. It
// sums the first column (an integer id) and counts its distinct values.
func fetchParallel(t *testing.T, ctx context.Context, home *flightsql.Client, info *arrowflight.FlightInfo) (scanResult, error) {
	t.Helper()
	res := scanResult{perLoc: map[string]int64{}}
	seen := map[int64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(info.Endpoint))
	for i, ep := range info.Endpoint {
		loc := ep.Location[0].Uri
		c := home
		if loc != arrowflight.LocationReuseConnection {
			var err error
			c, err = flightsql.NewClient(strings.TrimPrefix(loc, "grpc+tcp://"), nil, nil,
				bounded(grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdr, err := c.DoGet(ctx, ep.Ticket)
			if err != nil {
				errs[i] = err
				return
			}
			defer rdr.Release()
			for rdr.Next() {
				rec := rdr.RecordBatch()
				ids := rec.Column(0).(*array.Int64)
				mu.Lock()
				for j := range ids.Len() {
					res.rows++
					res.sum += ids.Value(j)
					seen[ids.Value(j)] = true
				}
				res.perLoc[loc] += rec.NumRows()
				mu.Unlock()
			}
			errs[i] = rdr.Err()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	res.distinct = len(seen)
	return res, nil
}

// bufferedMultiplesOf3 pulls n's buffered rows of table scan as another
// node does and returns the count and sum of the ids divisible by 3.
func bufferedMultiplesOf3(t *testing.T, n *clusterNode) (count, sum int64) {
	t.Helper()
	p := flight.NewPeers("node-test", "", grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer p.Close()
	sn, err := p.Buffer(context.Background(), n.id, n.addr, "scan")
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	for _, rec := range sn.Batches {
		ids := rec.Column(0).(*array.Int64)
		for i := range ids.Len() {
			if id := ids.Value(i); id%3 == 0 {
				count++
				sum += id
			}
		}
	}
	return count, sum
}

// locations lists the endpoints' locations, sorted.
func locations(info *arrowflight.FlightInfo) []string {
	var out []string
	for _, ep := range info.Endpoint {
		out = append(out, ep.Location[0].Uri)
	}
	sort.Strings(out)
	return out
}

// multiplesOf3 is the count and sum of the multiples of 3 in [from, to).
func multiplesOf3(from, to int64) (n, sum int64) {
	for i := from; i < to; i++ {
		if i%3 == 0 {
			n++
			sum += i
		}
	}
	return n, sum
}

// A plain scan planned on one node of three gets one endpoint per node,
// each reading that node's files and buffer; fetched in parallel from
// their locations they add up to exactly the rows a single node would
// answer, and so do they fetched all from the planning node. An aggregate
// keeps one endpoint. Once a node is SIGKILLed and listed down, both fail
// with UNAVAILABLE naming it, unless the call allows partial results (the
// header, or the session option in the client's cookie): then they answer
// without its buffered rows but with its flushed ones.
func TestClusterScanEndpoints(t *testing.T) {
	env := newStoreEnv(t)
	extra := "buffer:\n  buffer_size: 1000\n  flush_interval: 1h\n"
	a, b, c := startThreeNodes(t, env, extra)
	ctx := context.Background()
	cb := b.client()
	cat := env.catalog(t)
	flushed := func() map[string]int64 {
		files, err := cat.Files(ctx, "scan")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, f := range files {
			out[f.Node] += f.Rows
		}
		return out
	}
	// Ids [0, 9000) go in through the three nodes and are flushed by a
	// clean restart of each node (SIGTERM flushes); ids [9000, 9900) go in
	// next and stay in the buffers (below buffer_size, flush_interval 1h).
	// Which node holds which row is the cluster's business (the receiving
	// node, or the owner of the row's partition): the test checks the
	// union, and takes node-c's buffered rows from node-c itself.
	nodes := []*clusterNode{a, b, c}
	for i, n := range nodes {
		mode := modeAppend
		if i == 0 {
			mode = modeCreate
		}
		if _, err := ingestRecs(ctx, n.client(), "scan", mode, idBatch(int64(i)*3000, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		n.stop()
		n.restart()
	}
	waitUntil(t, 20*time.Second, "ids [0, 9000) flushed, by every node", func() bool {
		f := flushed()
		return f["node-a"]+f["node-b"]+f["node-c"] == 9000 && f["node-a"] > 0 && f["node-b"] > 0 && f["node-c"] > 0
	})
	waitUntil(t, 10*time.Second, "three nodes listed healthy again", func() bool {
		st := b.states(t)
		return st["node-a"] == "healthy" && st["node-b"] == "healthy" && st["node-c"] == "healthy"
	})
	cb = b.client()
	for i, n := range nodes {
		if _, err := ingestRecs(ctx, n.client(), "scan", modeAppend, idBatch(9000+int64(i)*300, 300)); err != nil {
			t.Fatal(err)
		}
	}
	if f := flushed(); f["node-a"]+f["node-b"]+f["node-c"] != 9000 {
		t.Fatalf("flushed rows %v, want ids [9000, 9900) still buffered", f)
	}
	const scan = "SELECT id, v FROM scan WHERE id % 3 = 0"
	const agg = "SELECT count(*), sum(id), count(DISTINCT id) FROM scan WHERE id % 3 = 0"
	wantN, wantSum := multiplesOf3(0, 9900)

	info, err := cb.Execute(ctx, scan)
	if err != nil {
		t.Fatal(err)
	}
	wantLocs := []string{arrowflight.LocationReuseConnection, "grpc+tcp://" + a.addr, "grpc+tcp://" + c.addr}
	sort.Strings(wantLocs)
	if got := locations(info); strings.Join(got, " ") != strings.Join(wantLocs, " ") {
		t.Fatalf("scan endpoints at %v, want one per node: %v", got, wantLocs)
	}
	res, err := fetchParallel(t, ctx, cb, info)
	if err != nil {
		t.Fatal(err)
	}
	if res.rows != wantN || res.sum != wantSum || int64(res.distinct) != wantN {
		t.Fatalf("parallel endpoints: %d rows, sum %d, %d distinct; want %d, %d, %d", res.rows, res.sum, res.distinct, wantN, wantSum, wantN)
	}
	t.Logf("scan endpoints: rows per location %v", res.perLoc)
	for loc, n := range res.perLoc {
		if n == 0 {
			t.Errorf("endpoint at %s returned no rows; every node flushed some", loc)
		}
	}
	// A client that ignores locations fetches every ticket from node-b,
	// which pulls the other parts' buffers: the same rows.
	_, recs, err := queryAll(ctx, cb, scan)
	if err != nil {
		t.Fatal(err)
	}
	if n := total(recs); n != wantN {
		t.Fatalf("every endpoint fetched from node-b: %d rows, want %d", n, wantN)
	}
	releaseRecs(recs)

	info, err = cb.Execute(ctx, agg)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Endpoint) != 1 {
		t.Fatalf("aggregate has %d endpoints, want 1", len(info.Endpoint))
	}
	if got := queryInts(t, cb, agg); got[0] != wantN || got[1] != wantSum || got[2] != wantN {
		t.Fatalf("aggregate = %v, want [%d %d %d]", got, wantN, wantSum, wantN)
	}

	// node-c's buffered rows, as a peer pull sees them, are what a partial
	// answer misses once it is killed.
	lostN, lostSum := bufferedMultiplesOf3(t, c)
	if lostN == 0 {
		t.Fatal("node-c buffers no multiple of 3: the partial answers below would prove nothing")
	}
	t.Logf("node-c buffers %d multiples of 3 (sum %d) of %d", lostN, lostSum, wantN)
	c.kill()
	waitUntil(t, 10*time.Second, "node-c listed down", func() bool { return b.states(t)["node-c"] == "down" })
	for _, sql := range []string{scan, agg} {
		_, _, err := queryAll(ctx, cb, sql)
		wantCode(t, err, codes.Unavailable, "node-c")
	}

	// Without node-c's buffered rows; its flushed rows stay.
	partN, partSum := wantN-lostN, wantSum-lostSum
	checkPartial := func(how string, cl *flightsql.Client, ctx context.Context) {
		t.Helper()
		info, err := cl.Execute(ctx, scan)
		if err != nil {
			t.Fatalf("%s: scan: %v", how, err)
		}
		wantLocs := []string{arrowflight.LocationReuseConnection, "grpc+tcp://" + a.addr}
		sort.Strings(wantLocs)
		if got := locations(info); strings.Join(got, " ") != strings.Join(wantLocs, " ") {
			t.Fatalf("%s: scan endpoints at %v, want %v", how, got, wantLocs)
		}
		res, err := fetchParallel(t, context.Background(), cl, info)
		if err != nil {
			t.Fatalf("%s: scan: %v", how, err)
		}
		if res.rows != partN || res.sum != partSum || int64(res.distinct) != partN {
			t.Fatalf("%s: scan: %d rows, sum %d, %d distinct; want %d, %d, %d", how, res.rows, res.sum, res.distinct, partN, partSum, partN)
		}
		info, err = cl.Execute(ctx, agg)
		if err != nil {
			t.Fatalf("%s: aggregate: %v", how, err)
		}
		if len(info.Endpoint) != 1 {
			t.Fatalf("%s: aggregate has %d endpoints, want 1", how, len(info.Endpoint))
		}
		// The ticket carries the permission: DoGet needs neither the
		// header nor the cookie.
		rdr, err := cl.DoGet(context.Background(), info.Endpoint[0].Ticket)
		if err != nil {
			t.Fatalf("%s: aggregate: %v", how, err)
		}
		defer rdr.Release()
		if !rdr.Next() {
			t.Fatalf("%s: aggregate: no rows: %v", how, rdr.Err())
		}
		rec := rdr.RecordBatch()
		if got := []int64{intValue(t, rec.Column(0), 0), intValue(t, rec.Column(1), 0), intValue(t, rec.Column(2), 0)}; got[0] != partN || got[1] != partSum || got[2] != partN {
			t.Fatalf("%s: aggregate = %v, want [%d %d %d]", how, got, partN, partSum, partN)
		}
	}
	header := metadata.AppendToOutgoingContext(ctx, flight.PartialResultsHeader, "true")
	checkPartial("header", cb, header)

	// The session option lives in the client's cookie.
	sess, err := flightsql.NewClient(b.addr, nil, []arrowflight.ClientMiddleware{arrowflight.NewClientCookieMiddleware()},
		bounded(grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	_, _, err = queryAll(ctx, sess, agg)
	wantCode(t, err, codes.Unavailable, "node-c")
	opts, err := arrowflight.NewSessionOptionValues(map[string]any{flight.PartialResultsOption: true})
	if err != nil {
		t.Fatal(err)
	}
	set, err := sess.SetSessionOptions(ctx, &arrowflight.SetSessionOptionsRequest{SessionOptions: opts})
	if err != nil || len(set.GetErrors()) != 0 {
		t.Fatalf("SetSessionOptions: %v, %v", set, err)
	}
	got, err := sess.GetSessionOptions(ctx, &arrowflight.GetSessionOptionsRequest{})
	if err != nil || !got.GetSessionOptions()[flight.PartialResultsOption].GetBoolValue() {
		t.Fatalf("GetSessionOptions: %v, %v", got, err)
	}
	checkPartial("session option", sess, ctx)
	if _, err := sess.CloseSession(ctx, &arrowflight.CloseSessionRequest{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = queryAll(ctx, sess, agg)
	wantCode(t, err, codes.Unavailable, "node-c")
}

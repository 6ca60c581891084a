package ingest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/ingest/wal"
	"github.com/miniodb/miniodb/objstore"
)

// With Config.ShipWAL (wal.replicate: objstore) every group of WAL
// records the writer fsyncs is also put into the object store, as one
// object, before any of its records counts as durable: an ingest is
// acknowledged only once its COMMIT is on this node's disk and in the
// bucket. Objects are named
//
//	wal/<node>/<first LSN, 16 hex digits>-<last LSN, 16 hex digits>.mwl
//
// and hold the records framed exactly as in a WAL segment
// (docs/format/wal.md). A node whose lease has expired can then be
// replaced: another node replays its shipped records (Adopt). Objects
// whose records this node no longer needs (the WAL truncation point) are
// deleted after each flush.

const shipPrefix = "wal/"

// shippedObject is one shipped group of records.
type shippedObject struct {
	first, last uint64
	key         string
}

func shipKey(node string, first, last uint64) string {
	return fmt.Sprintf("%s%s/%016x-%016x.mwl", shipPrefix, node, first, last)
}

// parseShipKey reads the LSN range of an object under wal/<node>/.
func parseShipKey(prefix, key string) (shippedObject, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return shippedObject{}, false
	}
	name, ok = strings.CutSuffix(name, ".mwl")
	a, b, ok2 := strings.Cut(name, "-")
	if !ok || !ok2 || len(a) != 16 || len(b) != 16 {
		return shippedObject{}, false
	}
	first, err1 := strconv.ParseUint(a, 16, 64)
	last, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || first == 0 || last < first {
		return shippedObject{}, false
	}
	return shippedObject{first: first, last: last, key: key}, true
}

// listShipped lists node's shipped objects in LSN order.
func listShipped(ctx context.Context, bucket objstore.Bucket, node string) ([]shippedObject, error) {
	prefix := shipPrefix + node + "/"
	var out []shippedObject
	err := bucket.List(ctx, prefix, func(o objstore.ObjectInfo) error {
		if so, ok := parseShipKey(prefix, o.Key); ok {
			out = append(out, so)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the shipped WAL of %s: %w", node, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out, nil
}

// shipper puts WAL groups into the bucket for one node.
type shipper struct {
	node   string
	bucket objstore.Bucket
	log    *zap.Logger
	ctx    context.Context // cancelled by Close: a ship that never succeeds gives up
	cancel context.CancelFunc

	mu      sync.Mutex
	shipped []shippedObject // in LSN order
	last    uint64          // highest LSN shipped

	tail                []byte // replay only: framed records not shipped yet
	tailFirst, tailLast uint64
}

func newShipper(node string, bucket objstore.Bucket, log *zap.Logger) *shipper {
	ctx, cancel := context.WithCancel(context.Background())
	return &shipper{node: node, bucket: bucket, log: log, ctx: ctx, cancel: cancel}
}

// load lists what earlier runs shipped.
func (sh *shipper) load(ctx context.Context) error {
	objs, err := listShipped(ctx, sh.bucket, sh.node)
	if err != nil {
		return err
	}
	sh.shipped = objs
	for _, o := range objs {
		sh.last = max(sh.last, o.last)
	}
	return nil
}

// ship is the WAL's Ship: it retries until the object is stored or the
// service closes. Meanwhile the WAL's writer waits, and so do the ingests
// behind it: no acknowledgement without the second copy.
func (sh *shipper) ship(first, last uint64, frames []byte) error {
	key := shipKey(sh.node, first, last)
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := sh.bucket.Put(sh.ctx, key, bytes.NewReader(frames), int64(len(frames)))
		if err == nil {
			break
		}
		if sh.ctx.Err() != nil {
			return fmt.Errorf("ship %s: %w", key, err)
		}
		if attempt == 1 || attempt%20 == 0 {
			sh.log.Warn("shipping WAL records to the object store failed; ingests wait until it succeeds", zap.String("key", key), zap.Int("attempt", attempt), zap.Error(err))
		}
		select {
		case <-time.After(wait):
		case <-sh.ctx.Done():
			return fmt.Errorf("ship %s: %w", key, err)
		}
		wait = min(2*wait, 2*time.Second)
	}
	sh.mu.Lock()
	// Groups ship concurrently: keep the list in LSN order.
	i := sort.Search(len(sh.shipped), func(i int) bool { return sh.shipped[i].first > first })
	sh.shipped = slices.Insert(sh.shipped, i, shippedObject{first: first, last: last, key: key})
	sh.last = max(sh.last, last)
	sh.mu.Unlock()
	return nil
}

// collect deletes the shipped objects whose records all lie below low,
// except the newest: its name keeps the highest LSN shipped for the next
// start (tail).
func (sh *shipper) collect(ctx context.Context, low uint64) {
	sh.mu.Lock()
	n := 0
	for n+1 < len(sh.shipped) && sh.shipped[n].last < low {
		n++
	}
	gone := append([]shippedObject(nil), sh.shipped[:n]...)
	sh.shipped = sh.shipped[n:]
	sh.mu.Unlock()
	for _, o := range gone {
		if err := sh.bucket.Delete(ctx, o.key); err != nil {
			sh.log.Warn("delete a shipped WAL object", zap.String("key", o.key), zap.Error(err))
		}
	}
}

// replayed is called with every record replay reads: the records above
// what earlier runs shipped (a crash between the fsync and the put) are
// shipped before the node serves, since rows a query may see must be in
// the second copy too. They go in objects of at most maxTailObject bytes.
func (sh *shipper) replayed(lsn uint64, payload []byte) error {
	if lsn <= sh.last {
		return nil
	}
	if sh.tailFirst == 0 {
		sh.tailFirst = lsn
	}
	sh.tailLast = lsn
	sh.tail = wal.AppendFrame(sh.tail, lsn, payload)
	if len(sh.tail) >= maxTailObject {
		return sh.shipTail()
	}
	return nil
}

// shipTail ships what replayed collected.
func (sh *shipper) shipTail() error {
	if len(sh.tail) == 0 {
		return nil
	}
	if err := sh.ship(sh.tailFirst, sh.tailLast, sh.tail); err != nil {
		return err
	}
	sh.tail, sh.tailFirst = nil, 0
	return nil
}

const maxTailObject = 16 << 20

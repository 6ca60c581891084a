package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// Decisions is the register of outcomes of ingests split across nodes
// (two-phase commit). Each owner makes its part durable as a prepared
// transaction; the outcome is whichever of "commit" (the receiving node,
// once every owner has prepared) and "abort" (an owner that waited too long
// for the outcome, or any node resolving a prepared part at start-up) is
// recorded first for the transaction id. Later calls get the recorded
// outcome, so every owner applies the same one.
type Decisions interface {
	// Decide records commit (true) or abort (false) for the transaction
	// id unless an outcome is recorded already, and returns the recorded
	// outcome. An outcome is kept for ttl; a part still prepared after
	// that is aborted.
	Decide(ctx context.Context, id string, commit bool, ttl time.Duration) (bool, error)
	// Forget removes an outcome every owner has applied.
	Forget(ctx context.Context, id string) error
	// CommitAdoption is CommitFlush of files another node wrote from
	// node's shipped WAL, which also records, in the same transaction,
	// that node's prepared parts ids (outcome commit) are in them.
	CommitAdoption(ctx context.Context, table, node string, files []File, flushedLSN uint64, ids []string, ttl time.Duration) error
	// Adopted reports whether node's prepared part of id is in files
	// already (CommitAdoption): node must not commit it again.
	Adopted(ctx context.Context, id, node string) (bool, error)
}

var errBadDecisionID = errors.New("transaction id must be 1 to 128 characters without spaces")

func checkDecisionID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n") {
		return fmt.Errorf("%w: %q", errBadDecisionID, id)
	}
	return nil
}

const (
	outcomeCommit = "commit"
	outcomeAbort  = "abort"
)

func outcome(commit bool) string {
	if commit {
		return outcomeCommit
	}
	return outcomeAbort
}

// decideScript returns the recorded outcome of KEYS[1], recording ARGV[1]
// for ARGV[2] ms first if there is none.
var decideScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

// decisionKey is miniodb:{<ns>}:txn:<id> (doc.go).
func (k redisKeys) decision(id string) string {
	return strings.TrimSuffix(k.id, "id") + "txn:" + id
}

// Decide implements Decisions.
func (r *Redis) Decide(ctx context.Context, id string, commit bool, ttl time.Duration) (bool, error) {
	if err := checkDecisionID(id); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("decision of %s: ttl %s must be positive", id, ttl)
	}
	v, err := decideScript.Run(ctx, r.client, []string{r.keys.decision(id)}, outcome(commit), ttl.Milliseconds()).Text()
	if err != nil {
		return false, fmt.Errorf("decide transaction %s: %w", id, err)
	}
	return v == outcomeCommit, nil
}

// adoptedKey marks node's part of id as adopted:
// miniodb:{<ns>}:txn:<id>:adopted:<node>.
func (k redisKeys) adopted(id, node string) string { return k.decision(id) + ":adopted:" + node }

// CommitAdoption implements Decisions.
func (r *Redis) CommitAdoption(ctx context.Context, table, node string, files []File, flushedLSN uint64, ids []string, ttl time.Duration) error {
	for _, id := range ids {
		if err := checkDecisionID(id); err != nil {
			return err
		}
	}
	return r.commitFlush(ctx, table, node, files, flushedLSN, func(p redis.Pipeliner) {
		for _, id := range ids {
			p.Set(ctx, r.keys.adopted(id, node), "1", ttl)
		}
	})
}

// Adopted implements Decisions.
func (r *Redis) Adopted(ctx context.Context, id, node string) (bool, error) {
	n, err := r.client.Exists(ctx, r.keys.adopted(id, node)).Result()
	if err != nil {
		return false, fmt.Errorf("read adoption of %s on %s: %w", id, node, err)
	}
	return n == 1, nil
}

// Forget implements Decisions.
func (r *Redis) Forget(ctx context.Context, id string) error {
	if err := checkDecisionID(id); err != nil {
		return err
	}
	if err := r.client.Del(ctx, r.keys.decision(id)).Err(); err != nil {
		return fmt.Errorf("forget transaction %s: %w", id, err)
	}
	return nil
}

var bucketDecisions = []byte("decisions")

// Decide implements Decisions. An embedded catalog belongs to one node,
// which never splits an ingest; the register exists so that the contract
// holds on every backend. Outcomes are kept until Forget (ttl is not
// enforced: the file is not shared, so nothing accumulates from others).
func (c *Bolt) Decide(_ context.Context, id string, commit bool, _ time.Duration) (bool, error) {
	if err := checkDecisionID(id); err != nil {
		return false, err
	}
	var got string
	err := c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDecisions)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(id)); v != nil {
			got = string(v)
			return nil
		}
		got = outcome(commit)
		return b.Put([]byte(id), []byte(got))
	})
	if err != nil {
		return false, fmt.Errorf("decide transaction %s: %w", id, err)
	}
	return got == outcomeCommit, nil
}

// CommitAdoption implements Decisions.
func (c *Bolt) CommitAdoption(_ context.Context, table, node string, files []File, flushedLSN uint64, ids []string, _ time.Duration) error {
	return c.commitFlush(table, node, files, flushedLSN, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDecisions)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := b.Put([]byte(id+":adopted:"+node), []byte("1")); err != nil {
				return err
			}
		}
		return nil
	})
}

// Adopted implements Decisions.
func (c *Bolt) Adopted(_ context.Context, id, node string) (bool, error) {
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDecisions); b != nil {
			found = b.Get([]byte(id+":adopted:"+node)) != nil
		}
		return nil
	})
	return found, err
}

// Forget implements Decisions.
func (c *Bolt) Forget(_ context.Context, id string) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDecisions); b != nil {
			return b.Delete([]byte(id))
		}
		return nil
	})
}

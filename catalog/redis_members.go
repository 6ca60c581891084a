package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Membership keys (doc.go): miniodb:{<ns>}:nodes HASH <id> -> JSON Node,
// miniodb:{<ns>}:leases ZSET <id> scored by lease expiry in Unix ms by the
// Redis server's clock. Both scripts read TIME inside Redis, so a lease
// means the same to every node whatever their clocks say.

// heartbeatScript checks the catalog identity, then records the node and
// its lease. KEYS: id, nodes, leases. ARGV: identity, node id, node JSON,
// ttl in ms.
var heartbeatScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('MINIODB_IDENTITY catalog identity missing or changed')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[2])
return now
`)

// nodesScript returns the server's time in ms, then id, lease expiry and
// record of every node. KEYS: nodes, leases.
var nodesScript = redis.NewScript(`
local t = redis.call('TIME')
local out = {tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))}
local leases = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #leases, 2 do
  out[#out + 1] = leases[i]
  out[#out + 1] = leases[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[1], leases[i]) or ''
end
return out
`)

func (k redisKeys) nodes() string  { return strings.TrimSuffix(k.id, "id") + "nodes" }
func (k redisKeys) leases() string { return strings.TrimSuffix(k.id, "id") + "leases" }

// Heartbeat implements Membership.
func (r *Redis) Heartbeat(ctx context.Context, n Node, ttl time.Duration) error {
	if err := n.validate(ttl); err != nil {
		return err
	}
	r.mu.Lock()
	id := r.id
	r.mu.Unlock()
	if id == "" {
		return fmt.Errorf("%w: %s has no catalog identity", ErrCatalogLost, r.Describe())
	}
	rec, err := json.Marshal(n)
	if err != nil {
		return err
	}
	err = heartbeatScript.Run(ctx, r.client, []string{r.keys.id, r.keys.nodes(), r.keys.leases()},
		id, n.ID, rec, ttl.Milliseconds()).Err()
	if err != nil && strings.HasPrefix(err.Error(), "MINIODB_IDENTITY") {
		return fmt.Errorf("%w: %s no longer has catalog identity %s", ErrCatalogLost, r.Describe(), id)
	}
	if err != nil {
		return fmt.Errorf("heartbeat of node %s: %w", n.ID, err)
	}
	return nil
}

// Leave implements Membership.
func (r *Redis) Leave(ctx context.Context, id string) error {
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, r.keys.leases(), id)
		p.HDel(ctx, r.keys.nodes(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove node %s: %w", id, err)
	}
	return nil
}

// removeDownScript removes node ARGV[1] if its lease has expired by the
// server's clock, returning 1 if it did. KEYS: nodes, leases.
var removeDownScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not exp or tonumber(exp) > now then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`)

// RemoveDown removes a node whose lease has expired; a node that renewed
// meanwhile stays (false).
func (r *Redis) RemoveDown(ctx context.Context, id string) (bool, error) {
	n, err := removeDownScript.Run(ctx, r.client, []string{r.keys.nodes(), r.keys.leases()}, id).Int()
	if err != nil {
		return false, fmt.Errorf("remove down node %s: %w", id, err)
	}
	return n == 1, nil
}

// Nodes implements Membership.
func (r *Redis) Nodes(ctx context.Context) ([]Node, error) {
	res, err := nodesScript.Run(ctx, r.client, []string{r.keys.nodes(), r.keys.leases()}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(res) == 0 || (len(res)-1)%3 != 0 {
		return nil, fmt.Errorf("list nodes: malformed answer of %d strings", len(res))
	}
	nowMS, err := strconv.ParseInt(res[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("list nodes: server time %q: %w", res[0], err)
	}
	now := time.UnixMilli(nowMS)
	var out []Node
	for i := 1; i < len(res); i += 3 {
		id, score, rec := res[i], res[i+1], res[i+2]
		var n Node
		if rec != "" {
			if err := json.Unmarshal([]byte(rec), &n); err != nil {
				return nil, fmt.Errorf("node %s: %w", id, err)
			}
		}
		n.ID = id
		expires, err := strconv.ParseFloat(score, 64)
		if err != nil {
			return nil, fmt.Errorf("node %s: lease %q: %w", id, score, err)
		}
		n.LeaseExpires = time.UnixMilli(int64(expires))
		n.State = stateAt(n, now)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

package catalog

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStats is the state of the catalog's Redis connection pool: the data
// of the seed's /v1/pool/status and of the metrics.
type RedisStats struct {
	Mode       string    `json:"mode"`
	Where      string    `json:"where"`
	Namespace  string    `json:"namespace"`
	PoolSize   int       `json:"pool_size"` // configured per node; 0: go-redis default
	TotalConns uint32    `json:"total_conns"`
	IdleConns  uint32    `json:"idle_conns"`
	StaleConns uint32    `json:"stale_conns"`
	Hits       uint32    `json:"hits"`     // a free connection was found in the pool
	Misses     uint32    `json:"misses"`   // a new connection had to be dialled
	Timeouts   uint32    `json:"timeouts"` // waits for a connection that timed out
	Commands   uint64    `json:"commands"`
	Errors     uint64    `json:"errors"` // failed commands and dials (not "key missing")
	LastError  string    `json:"last_error,omitempty"`
	LastErrAt  time.Time `json:"last_error_at,omitempty"`
}

// Stats returns the pool status.
func (r *Redis) Stats() RedisStats {
	ps := r.client.PoolStats()
	st := RedisStats{
		Mode: r.cfg.Mode, Where: r.where(), Namespace: r.cfg.Namespace, PoolSize: r.cfg.PoolSize,
		TotalConns: ps.TotalConns, IdleConns: ps.IdleConns, StaleConns: ps.StaleConns,
		Hits: ps.Hits, Misses: ps.Misses, Timeouts: ps.Timeouts,
		Commands: r.hook.commands.Load(), Errors: r.hook.errors.Load(),
	}
	st.LastError, st.LastErrAt = r.hook.last()
	return st
}

// Ping checks that Redis answers (for health checks).
func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// errorHook counts commands and failures for Stats.
type errorHook struct {
	commands, errors atomic.Uint64
	mu               sync.Mutex
	lastErr          string
	lastAt           time.Time
}

func (h *errorHook) note(err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) {
		return
	}
	h.errors.Add(1)
	h.mu.Lock()
	h.lastErr, h.lastAt = err.Error(), time.Now()
	h.mu.Unlock()
}

func (h *errorHook) last() (string, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastErr, h.lastAt
}

func (h *errorHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		h.note(err)
		return c, err
	}
}

func (h *errorHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.commands.Add(1)
		err := next(ctx, cmd)
		if !handshake(cmd) {
			h.note(err)
		}
		return err
	}
}

func (h *errorHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.commands.Add(uint64(len(cmds)))
		err := next(ctx, cmds)
		for _, c := range cmds {
			if !handshake(c) && c.Err() != nil {
				h.note(c.Err())
				break
			}
		}
		return err
	}
}

// handshake tells the optional capability probes go-redis sends on a new
// connection (CLIENT SETINFO, CLIENT MAINT_NOTIFICATIONS, HELLO): older
// servers refuse them and go-redis carries on, so they are not failures.
func handshake(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "client", "hello":
		return true
	}
	return false
}

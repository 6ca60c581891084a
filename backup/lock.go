package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLocked is returned (wrapped) when another restore or rebuild holds the
// lock; the message names the holder.
var ErrLocked = errors.New("backup: another restore or rebuild is running")

// Locker is a mutual-exclusion lock shared by every node of a catalog.
type Locker interface {
	// TryLock takes the lock named name for at most ttl (a crashed holder
	// blocks others that long), or fails at once with ErrLocked. holder
	// is recorded for the error others see. unlock is idempotent and
	// releases only this holder's lock.
	TryLock(ctx context.Context, name, holder string, ttl time.Duration) (unlock func(), err error)
}

// LocalLocker is a lock within one process (the embedded single-node
// default, where the bbolt file already admits only one process).
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]string
}

// TryLock implements Locker.
func (l *LocalLocker) TryLock(_ context.Context, name, holder string, _ time.Duration) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.held[name]; ok {
		return nil, fmt.Errorf("%w (held by %s)", ErrLocked, h)
	}
	if l.held == nil {
		l.held = map[string]string{}
	}
	l.held[name] = holder
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, nil
}

// FileLocker is a lock between the processes of one host: flock(2) on
// Path (the CLI and a node sharing a data folder).
type FileLocker struct{ Path string }

// TryLock implements Locker; the name is ignored (one lock per file).
func (l FileLocker) TryLock(_ context.Context, _, holder string, _ time.Duration) (func(), error) {
	f, err := os.OpenFile(l.Path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", l.Path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(l.Path)
		f.Close()
		return nil, fmt.Errorf("%w (held by %s, lock %s)", ErrLocked, string(b), l.Path)
	}
	f.Truncate(0)
	f.WriteAt([]byte(holder), 0)
	var once sync.Once
	return func() { once.Do(func() { f.Truncate(0); f.Close() }) }, nil
}

// RedisLocker is a lock shared by every node of a Redis catalog: the key
// miniodb:{<ns>}:lock:<name> holds a random token (SET NX PX); unlock
// deletes it only if the token is still ours (a Lua compare-and-delete),
// so a lock that expired and was taken by another is never released by
// the late first holder.
type RedisLocker struct {
	Client    redis.UniversalClient
	Namespace string
}

var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// LockKey is the Redis key of the lock named name.
func (l RedisLocker) LockKey(name string) string { return "miniodb:{" + l.Namespace + "}:lock:" + name }

// TryLock implements Locker.
func (l RedisLocker) TryLock(ctx context.Context, name, holder string, ttl time.Duration) (func(), error) {
	b := make([]byte, 8)
	rand.Read(b)
	token := holder + "/" + hex.EncodeToString(b)
	key := l.LockKey(name)
	ok, err := l.Client.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("take lock %s: %w", key, err)
	}
	if !ok {
		h, _ := l.Client.Get(ctx, key).Result()
		return nil, fmt.Errorf("%w (held by %s, lock %s)", ErrLocked, h, key)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			unlockScript.Run(ctx, l.Client, []string{key}, token)
		})
	}, nil
}

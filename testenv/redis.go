package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisServer is one redis-server child process.
type RedisServer struct {
	Addr string // 127.0.0.1:<port>
	Dir  string // its data folder (AOF, nodes.conf)
	proc *process
}

// Redis starts a standalone redis-server for the test.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	return startRedis(t, "redis")
}

func startRedis(t testing.TB, name string, extra ...string) *RedisServer {
	t.Helper()
	bin := redisBin(t)
	port := freePort(t)
	dir := tempDir(t, name)
	r := &RedisServer{Addr: loopback(port), Dir: dir}
	args := append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--daemonize", "no", "--save", "",
		// Every acknowledged write survives a restart, even after SIGKILL.
		"--appendonly", "yes", "--appendfsync", "always",
	}, extra...)
	r.proc = &process{t: t, name: name, bin: bin, args: args, logPath: filepath.Join(dir, "redis.log"),
		ready: func() error { return redisPing(r.Addr) }}
	r.proc.start()
	r.proc.register()
	return r
}

func redisBin(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := RedisServerBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Stop shuts the server down (SIGTERM: it finishes writing its AOF).
func (r *RedisServer) Stop() { r.proc.stop() }

// Kill SIGKILLs the server.
func (r *RedisServer) Kill() { r.proc.kill() }

// Start starts a stopped server again on the same address and folder.
func (r *RedisServer) Start() { r.proc.t.Helper(); r.proc.start() }

// Restart stops and starts the server.
func (r *RedisServer) Restart() { r.proc.t.Helper(); r.Stop(); r.Start() }

// Do runs one command with redis-cli and returns its raw output, failing
// the test on error. For test set-up only (the code under test uses
// go-redis).
func (r *RedisServer) Do(args ...string) string {
	r.proc.t.Helper()
	return redisCLI(r.proc.t, r.Addr, args...)
}

func redisCLI(t testing.TB, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// redisPing sends PING in the inline protocol and expects +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line)) // e.g. -LOADING
	}
	return nil
}

// SentinelEnv is a master watched by one sentinel.
type SentinelEnv struct {
	MasterName    string
	SentinelAddrs []string
	Master        *RedisServer
	Sentinel      *RedisServer
}

// RedisSentinel starts a master and a sentinel monitoring it.
func RedisSentinel(t testing.TB) *SentinelEnv {
	t.Helper()
	master := Redis(t)
	bin := redisBin(t)
	port := freePort(t)
	dir := tempDir(t, "sentinel")
	conf := filepath.Join(dir, "sentinel.conf")
	_, mport, _ := net.SplitHostPort(master.Addr)
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 1\n"+
		"sentinel down-after-milliseconds mymaster 2000\n", port, dir, mport)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &RedisServer{Addr: loopback(port), Dir: dir}
	s.proc = &process{t: t, name: "redis-sentinel", bin: bin, args: []string{conf, "--sentinel"},
		logPath: filepath.Join(dir, "sentinel.log"), ready: func() error { return sentinelKnowsMaster(s.Addr) }}
	s.proc.start()
	s.proc.register()
	return &SentinelEnv{MasterName: "mymaster", SentinelAddrs: []string{s.Addr}, Master: master, Sentinel: s}
}

// sentinelKnowsMaster is nil once the sentinel answers with the master's
// address.
func sentinelKnowsMaster(addr string) error {
	if err := redisPing(addr); err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	c.Write([]byte("SENTINEL get-master-addr-by-name mymaster\r\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "*2") {
		return fmt.Errorf("sentinel does not know the master yet: %q", strings.TrimSpace(line))
	}
	return nil
}

// ClusterEnv is a Redis Cluster of three masters without replicas.
type ClusterEnv struct {
	Addrs []string
	Nodes []*RedisServer
}

// RedisCluster starts three cluster-enabled servers and joins them.
func RedisCluster(t testing.TB) *ClusterEnv {
	t.Helper()
	env := &ClusterEnv{}
	for i := range 3 {
		n := startRedis(t, fmt.Sprintf("redis-cluster-%d", i),
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		env.Nodes = append(env.Nodes, n)
		env.Addrs = append(env.Addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, env.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	redisCLI(t, env.Addrs[0], args...)
	deadline := time.Now().Add(startTimeout)
	for _, n := range env.Nodes {
		for !strings.Contains(n.Do("cluster", "info"), "cluster_state:ok") {
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok within %s: %s", startTimeout, n.Do("cluster", "info"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return env
}

package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/miniodb/miniodb/testenv"
)

// binary is the miniodb executable every test runs; TestMain builds it once
// the way the Dockerfile does (cgo, -tags duckdb_arrow).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "h10_miniodb_bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "miniodb")
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", binary, "../cmd/miniodb")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build miniodb:", err)
		os.Exit(1)
	}
	http.DefaultClient.Timeout = time.Minute
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nodeConfig is the part of a node configuration the checks compare
// manifests against; the binary itself validates the whole file.
type nodeConfig struct {
	Server struct {
		GRPCPort     string        `yaml:"grpc_port"`
		RESTPort     string        `yaml:"rest_port"`
		NodeID       string        `yaml:"node_id"`
		DataDir      string        `yaml:"data_dir"`
		DrainTimeout time.Duration `yaml:"drain_timeout"`
	} `yaml:"server"`
	Buffer struct {
		MaxMemory int64 `yaml:"max_memory"`
	} `yaml:"buffer"`
	WAL struct {
		MaxBytes int64 `yaml:"max_bytes"`
	} `yaml:"wal"`
	Cache struct {
		MaxBytes int64 `yaml:"max_bytes"`
	} `yaml:"cache"`
	Query struct {
		Threads              int    `yaml:"threads"`
		MemoryLimit          string `yaml:"memory_limit"`
		MaxTempDirectorySize string `yaml:"max_temp_directory_size"`
	} `yaml:"query"`
	Cluster struct {
		AdvertiseAddr     string `yaml:"advertise_addr"`
		AdvertiseRESTAddr string `yaml:"advertise_rest_addr"`
	} `yaml:"cluster"`
	Redis struct {
		Addr string `yaml:"addr"`
	} `yaml:"redis"`
	MinIO struct {
		Endpoint string `yaml:"endpoint"`
	} `yaml:"minio"`
	Security struct {
		Mode    string `yaml:"mode"`
		APIKeys []struct {
			Name      string   `yaml:"name"`
			KeySHA256 string   `yaml:"key_sha256"`
			Roles     []string `yaml:"roles"`
		} `yaml:"api_keys"`
	} `yaml:"security"`
}

func parseNodeConfig(t *testing.T, text []byte) nodeConfig {
	t.Helper()
	var c nodeConfig
	if err := yaml.Unmarshal(text, &c); err != nil {
		t.Fatalf("parse node config: %v\n%s", err, text)
	}
	return c
}

// port returns the port of a host:port address.
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlDocs parses every document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// get walks maps and lists of a decoded YAML document: get(d, "spec",
// "template", "spec", "containers", 0).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	for _, e := range asList(v) {
		out = append(out, str(e))
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// baseEnv is this process's environment without MINIODB_ variables, so that
// a developer's settings cannot leak into a checked configuration.
func baseEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIODB_") {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+extra[k])
	}
	return env
}

// checkConfig runs `miniodb serve --check-config` on a configuration with
// the environment a manifest sets and returns the binary's verdict.
func checkConfig(cfgPath string, env map[string]string) (string, error) {
	cmd := exec.Command(binary, "serve", "--check-config", "--config", cfgPath)
	cmd.Env = baseEnv(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustCheckConfig(t *testing.T, name, cfgPath string, env map[string]string) {
	t.Helper()
	out, err := checkConfig(cfgPath, env)
	if err != nil || !strings.Contains(out, "configuration ok") {
		t.Fatalf("%s: miniodb serve --check-config refused it: %v\n%s", name, err, out)
	}
}

// writeTemp writes text into a new file of the test's temporary folder.
func writeTemp(t *testing.T, name string, text []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// envKey finds the configuration key a MINIODB_<SECTION>_<KEY> variable
// sets, by asking the binary: the variable's value is written under each
// key path its name could spell (underscores either separate keys or
// belong to one) into the configuration, and the binary's strict YAML
// decoder, which refuses unknown keys, must accept one of them with the
// same verdict as the environment gave. It returns the dotted key.
func envKey(t *testing.T, cfgText []byte, env map[string]string, name string) string {
	t.Helper()
	key, ok := findEnvKey(t, cfgText, env, name)
	if !ok {
		t.Fatalf("%s names no configuration key the binary knows (tried every key path its name spells)", name)
	}
	return key
}

func findEnvKey(t *testing.T, cfgText []byte, env map[string]string, name string) (string, bool) {
	t.Helper()
	words := strings.Split(strings.ToLower(strings.TrimPrefix(name, "MINIODB_")), "_")
	if !strings.HasPrefix(name, "MINIODB_") || len(words) < 2 {
		t.Fatalf("%s is not a MINIODB_<SECTION>_<KEY> variable", name)
	}
	rest := map[string]string{}
	for k, v := range env {
		if k != name {
			rest[k] = v
		}
	}
	for _, path := range keyPaths(words) {
		var root yaml.Node
		if err := yaml.Unmarshal(cfgText, &root); err != nil {
			t.Fatal(err)
		}
		if len(root.Content) == 0 {
			root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
		}
		setPath(root.Content[0], path, env[name])
		text, err := yaml.Marshal(&root)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "key.yaml")
		if err := os.WriteFile(p, text, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := checkConfig(p, rest)
		if err == nil && strings.Contains(out, "configuration ok") {
			return strings.Join(path, "."), true
		}
	}
	return "", false
}

// keyPaths lists the ways to group words into keys, fewest keys first
// after the section: [server node id] gives server.node_id, server.node.id,
// server_node.id, ...
func keyPaths(words []string) [][]string {
	var out [][]string
	n := len(words) - 1
	for mask := 0; mask < 1<<n; mask++ {
		var path []string
		cur := words[0]
		for i := 1; i <= n; i++ {
			if mask&(1<<(i-1)) != 0 {
				path = append(path, cur)
				cur = words[i]
			} else {
				cur += "_" + words[i]
			}
		}
		path = append(path, cur)
		if len(path) >= 2 {
			out = append(out, path)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}

// setPath sets a scalar at a key path of a YAML mapping, creating the
// mappings on the way and replacing what was there.
func setPath(m *yaml.Node, path []string, value string) {
	for i, key := range path {
		var child *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == key {
				child = m.Content[j+1]
			}
		}
		last := i == len(path)-1
		if child == nil {
			child = &yaml.Node{Kind: yaml.MappingNode}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, child)
		}
		if last {
			*child = yaml.Node{Kind: yaml.ScalarNode, Value: value}
			return
		}
		if child.Kind != yaml.MappingNode {
			*child = yaml.Node{Kind: yaml.MappingNode}
		}
		m = child
	}
}

// checkEnvKeys checks every MINIODB_ variable of env against the binary
// and returns the keys they set.
func checkEnvKeys(t *testing.T, cfgText []byte, env map[string]string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for name := range env {
		if strings.HasPrefix(name, "MINIODB_") {
			keys[name] = envKey(t, cfgText, env, name)
		}
	}
	return keys
}

// liveNode is a `miniodb serve` child process on loopback ports.
type liveNode struct {
	t      *testing.T
	cmd    *exec.Cmd
	rest   string // http://127.0.0.1:port
	grpc   string
	logs   *testenv.LogBuffer
	exited chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startNode runs argv (the binary first) with env, its listeners moved to
// free loopback ports by the environment (unless env sets
// MINIODB_SERVER_GRPC_PORT and MINIODB_SERVER_REST_PORT itself), and waits
// until it serves.
func startNode(t *testing.T, argv []string, env map[string]string) *liveNode {
	t.Helper()
	return startNodeIn(t, "", argv, env)
}

// startNodeIn is startNode in the working directory dir.
func startNodeIn(t *testing.T, dir string, argv []string, env map[string]string) *liveNode {
	t.Helper()
	return startNodeAs(t, dir, nil, argv, env)
}

// startNodeAs is startNodeIn as the user creds (nil: the test's).
func startNodeAs(t *testing.T, dir string, creds *syscall.Credential, argv []string, env map[string]string) *liveNode {
	t.Helper()
	grpcAddr, restAddr := freeAddr(t), freeAddr(t)
	all := map[string]string{"MINIODB_SERVER_GRPC_PORT": grpcAddr, "MINIODB_SERVER_REST_PORT": restAddr}
	for k, v := range env {
		all[k] = v
	}
	n := &liveNode{t: t, rest: "http://" + all["MINIODB_SERVER_REST_PORT"], grpc: all["MINIODB_SERVER_GRPC_PORT"], logs: &testenv.LogBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(argv[0], argv[1:]...)
	n.cmd.Env = baseEnv(all)
	n.cmd.Dir = dir
	if creds != nil {
		n.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: creds}
	}
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	n.cmd.WaitDelay = 10 * time.Second
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
		if t.Failed() {
			t.Logf("node log:\n%s", tail(n.logs.String(), 6000))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(n.logs.String(), "serving Flight SQL and OlapService") {
		select {
		case <-n.exited:
			t.Fatalf("node exited during start-up:\n%s", n.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not serve within 90s:\n%s", n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM and returns the exit code and how long the exit took.
func (n *liveNode) stop(limit time.Duration) (int, time.Duration) {
	start := time.Now()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(limit):
		n.t.Fatalf("node did not exit within %s of SIGTERM:\n%s", limit, tail(n.logs.String(), 6000))
	}
	return n.cmd.ProcessState.ExitCode(), time.Since(start)
}

// call makes a REST request and returns the status and body.
func (n *liveNode) call(method, path, bearer, body string) (int, string) {
	n.t.Helper()
	req, err := http.NewRequest(method, n.rest+path, strings.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHealthy GETs a probe path until it answers 200 (the first probes of
// a starting node may still see a dependency warming up).
func (n *liveNode) waitHealthy(path string) {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := n.call("GET", path, "", "")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("GET %s answered %d, want 200: %s", path, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nodesOf returns GET /v1/nodes as id -> advertised gRPC address.
func (n *liveNode) nodesOf(bearer string) map[string]string {
	n.t.Helper()
	code, body := n.call("GET", "/v1/nodes", bearer, "")
	if code != http.StatusOK {
		n.t.Fatalf("GET /v1/nodes: %d %s", code, body)
	}
	var resp struct {
		Nodes []struct {
			ID      string `json:"id"`
			Address string `json:"address"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		n.t.Fatalf("GET /v1/nodes: %v: %s", err, body)
	}
	out := map[string]string{}
	for _, nd := range resp.Nodes {
		out[nd.ID] = nd.Address
	}
	return out
}

// newStores starts a real Redis and MinIO (testenv) and returns the
// environment that points a manifest's node at them instead of the
// manifest's host names: the credentials are the test servers', the Redis
// has no password, the bucket is the test's own.
func newStores(t *testing.T) map[string]string {
	t.Helper()
	r, m := testenv.Redis(t), testenv.MinIO(t)
	return map[string]string{
		"MINIODB_REDIS_ADDR": r.Addr, "MINIODB_REDIS_PASSWORD": "",
		"MINIODB_MINIO_ENDPOINT": m.Endpoint, "MINIODB_MINIO_ACCESS_KEY_ID": m.AccessKey,
		"MINIODB_MINIO_SECRET_ACCESS_KEY": m.SecretKey, "MINIODB_MINIO_BUCKET": testenv.Name("h10"),
	}
}

// merge returns the union of maps, later ones winning.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// checkDataLayout checks that a running node keeps its WAL and read cache
// where the manifests mount their volumes: under server.data_dir.
func checkDataLayout(t *testing.T, dataDir string) {
	t.Helper()
	for _, sub := range []string{"wal", "cache"} {
		if st, err := os.Stat(filepath.Join(dataDir, sub)); err != nil || !st.IsDir() {
			t.Errorf("the node did not create %s under server.data_dir %s: %v", sub, dataDir, err)
		}
	}
}

// writeAt writes a file, creating its folder.
func writeAt(t *testing.T, p string, text []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, text, 0o600); err != nil {
		t.Fatal(err)
	}
}

// cliCommand is a command the test runs to completion, killed after two
// minutes so that a hang fails the test.
func cliCommand(t *testing.T, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

package deploy

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// dotEnv reads KEY=VALUE lines (the .env.example of the compose file).
func dotEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, line := range strings.Split(string(readFile(t, path)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		vars[k] = v
	}
	return vars
}

var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate does what Compose does to the file's text with the .env
// values: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$ for a literal $. A
// required variable .env.example lacks fails the test.
func interpolate(t *testing.T, text string, vars map[string]string) string {
	t.Helper()
	return interpolation.ReplaceAllStringFunc(text, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := interpolation.FindStringSubmatch(m)
		v, ok := vars[g[1]]
		switch {
		case ok && v != "":
			return v
		case strings.HasSuffix(g[2], "-"):
			return g[3]
		case strings.HasSuffix(g[2], "?"):
			t.Errorf("compose needs %s (%s) and .env.example does not set it", g[1], g[3])
		}
		return v
	})
}

// composeFile is docker-compose.yml interpolated with .env.example.
type composeFile struct {
	doc     map[string]any
	vars    map[string]string
	dir     string
	cfgText []byte // the node config the miniodb services mount
	cfg     nodeConfig
	nodes   []string // the MinIODB services
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	dir := "docker"
	vars := dotEnv(t, filepath.Join(dir, ".env.example"))
	text := interpolate(t, string(readFile(t, filepath.Join(dir, "docker-compose.yml"))), vars)
	p := writeTemp(t, "docker-compose.yml", []byte(text))
	c := composeFile{doc: yamlDocs(t, p)[0], vars: vars, dir: dir}
	for name, svc := range asMap(c.doc["services"]) {
		if strings.Contains(str(get(svc, "build", "dockerfile")), "deploy/docker/Dockerfile") {
			c.nodes = append(c.nodes, name)
		}
	}
	slices.Sort(c.nodes)
	return c
}

// service returns a service's map.
func (c composeFile) service(name string) map[string]any { return asMap(get(c.doc, "services", name)) }

// nodeEnv is a MinIODB service's environment.
func (c composeFile) nodeEnv(name string) map[string]string {
	env := map[string]string{}
	for k, v := range asMap(c.service(name)["environment"]) {
		env[k] = str(v)
	}
	return env
}

// mountedConfig returns the host file and container path of the service's
// node config (a top-level config mounted by the service).
func (c composeFile) mountedConfig(t *testing.T, name string) (string, string) {
	t.Helper()
	cfgs := asList(c.service(name)["configs"])
	if len(cfgs) != 1 {
		t.Fatalf("service %s mounts %d configs, want the node config", name, len(cfgs))
	}
	src, target := str(get(cfgs[0], "source")), str(get(cfgs[0], "target"))
	file := str(get(c.doc, "configs", src, "file"))
	if file == "" {
		t.Fatalf("service %s: config %q has no file in the top-level configs", name, src)
	}
	return filepath.Join(c.dir, file), target
}

func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	if len(c.nodes) != 3 {
		t.Fatalf("MinIODB services %v, want three", c.nodes)
	}
	for _, want := range []string{"redis", "minio"} {
		if c.service(want) == nil {
			t.Fatalf("no %s service", want)
		}
	}
	ids := map[string]string{}
	var cfgFile string
	for _, name := range c.nodes {
		t.Run(name, func(t *testing.T) {
			svc := c.service(name)
			file, target := c.mountedConfig(t, name)
			cfgFile = file
			cmd := strs(svc["command"])
			if !slices.Equal(cmd, []string{"serve", "--config", target}) {
				t.Errorf("command %q, want serve --config %s (the mounted config; no --insecure: auth is configured)", cmd, target)
			}
			text := readFile(t, file)
			cfg := parseNodeConfig(t, text)
			env := c.nodeEnv(name)
			mustCheckConfig(t, name, file, env)
			keys := checkEnvKeys(t, text, env)
			if keys["MINIODB_SERVER_NODE_ID"] != "server.node_id" {
				t.Errorf("node id variable sets %q", keys["MINIODB_SERVER_NODE_ID"])
			}
			id := env["MINIODB_SERVER_NODE_ID"]
			if other, dup := ids[id]; dup || id == "" {
				t.Errorf("server.node_id %q of %s is empty or also %s's", id, name, other)
			}
			ids[id] = name
			if cfg.Security.Mode != "auth" {
				t.Errorf("security.mode %q: the nodes bind non-loopback addresses", cfg.Security.Mode)
			}
			// Peers dial the advertised address: the service name and the
			// port the node listens on.
			for key, want := range map[string]string{
				"MINIODB_CLUSTER_ADVERTISE_ADDR":      net.JoinHostPort(name, port(t, cfg.Server.GRPCPort)),
				"MINIODB_CLUSTER_ADVERTISE_REST_ADDR": net.JoinHostPort(name, port(t, cfg.Server.RESTPort)),
			} {
				if env[key] != want {
					t.Errorf("%s=%q, want %q", key, env[key], want)
				}
			}
			var published []string
			for _, p := range strs(svc["ports"]) {
				published = append(published, p[strings.LastIndex(p, ":")+1:])
			}
			slices.Sort(published)
			if want := []string{port(t, cfg.Server.GRPCPort), port(t, cfg.Server.RESTPort)}; !slices.Equal(published, want) {
				t.Errorf("container ports %v, want the config's %v", published, want)
			}
			checkComposeVolumes(t, c, svc, cfg.Server.DataDir)
			if grace, err := time.ParseDuration(str(svc["stop_grace_period"])); err != nil || grace <= cfg.Server.DrainTimeout {
				t.Errorf("stop_grace_period %v must exceed server.drain_timeout %s (%v)", svc["stop_grace_period"], cfg.Server.DrainTimeout, err)
			}
			if str(svc["stop_signal"]) != "SIGTERM" {
				t.Errorf("stop_signal %v, want SIGTERM (drain)", svc["stop_signal"])
			}
			hc := strings.Join(strs(get(svc, "healthcheck", "test")), " ")
			if want := fmt.Sprintf("127.0.0.1:%s/v1/health", port(t, cfg.Server.RESTPort)); !strings.Contains(hc, want) {
				t.Errorf("healthcheck %q does not GET %s", hc, want)
			}
			for _, dep := range []string{"redis", "minio"} {
				if str(get(svc, "depends_on", dep, "condition")) != "service_healthy" {
					t.Errorf("%s does not wait for a healthy %s", name, dep)
				}
			}
			if h, _, _ := net.SplitHostPort(cfg.Redis.Addr); h != "redis" {
				t.Errorf("redis.addr %q is not the redis service", cfg.Redis.Addr)
			}
			if h, _, _ := net.SplitHostPort(cfg.MinIO.Endpoint); h != "minio" {
				t.Errorf("minio.endpoint %q is not the minio service", cfg.MinIO.Endpoint)
			}
			if env["MINIODB_MINIO_ACCESS_KEY_ID"] != str(get(c.service("minio"), "environment", "MINIO_ROOT_USER")) ||
				env["MINIODB_MINIO_SECRET_ACCESS_KEY"] != str(get(c.service("minio"), "environment", "MINIO_ROOT_PASSWORD")) {
				t.Error("the nodes' MinIO credentials are not the minio service's")
			}
		})
	}
	redis := strings.Join(strs(get(c.service("redis"), "command")), " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync always", "--requirepass " + c.vars["REDIS_PASSWORD"]} {
		if !strings.Contains(redis, want) {
			t.Errorf("redis command %q lacks %q", redis, want)
		}
	}
	if cfgFile != filepath.Join("docker", "miniodb.yaml") {
		t.Errorf("the nodes mount %s; the Dockerfile copies docker/miniodb.yaml", cfgFile)
	}
}

// checkComposeVolumes: named volumes only, each declared, the data folder
// mounted, and nothing mounted outside it.
func checkComposeVolumes(t *testing.T, c composeFile, svc map[string]any, dataDir string) {
	t.Helper()
	declared := asMap(c.doc["volumes"])
	var targets []string
	for _, v := range strs(svc["volumes"]) {
		src, target, ok := strings.Cut(v, ":")
		if !ok {
			t.Errorf("volume %q has no target", v)
			continue
		}
		if _, ok := declared[src]; !ok {
			t.Errorf("volume %q is not a declared named volume", src)
		}
		if target != dataDir && !strings.HasPrefix(target, dataDir+"/") {
			t.Errorf("volume target %s is outside server.data_dir %s", target, dataDir)
		}
		targets = append(targets, target)
	}
	if !slices.Contains(targets, dataDir) {
		t.Errorf("server.data_dir %s is not on a volume (mounted: %v)", dataDir, targets)
	}
}

// TestComposeCluster starts the three nodes of the compose file, each with
// its mounted config and its environment, over a real Redis and MinIO
// standing in for the redis and minio services: each answers its health
// check, and all three see each other as members with the advertised
// addresses; the admin key of .env.example matches the config's hash.
func TestComposeCluster(t *testing.T) {
	c := loadCompose(t)
	st := newStores(t)
	var nodes []*liveNode
	want := map[string]string{}
	for _, name := range c.nodes {
		file, _ := c.mountedConfig(t, name)
		env := c.nodeEnv(name)
		dataDir := filepath.Join(t.TempDir(), "data")
		// The service's host name resolves on the compose network only:
		// here it is the node's loopback address, as redis and minio are
		// the test servers'.
		grpcAddr, restAddr := freeAddr(t), freeAddr(t)
		env = merge(env, st, map[string]string{"MINIODB_SERVER_DATA_DIR": dataDir,
			"MINIODB_SERVER_GRPC_PORT": grpcAddr, "MINIODB_CLUSTER_ADVERTISE_ADDR": grpcAddr,
			"MINIODB_SERVER_REST_PORT": restAddr, "MINIODB_CLUSTER_ADVERTISE_REST_ADDR": restAddr})
		n := startNode(t, []string{binary, "serve", "--config", file}, env)
		hc := strs(get(c.service(name), "healthcheck", "test"))
		u := hc[len(hc)-1]
		n.waitHealthy(u[strings.Index(u, "/v1/"):])
		checkDataLayout(t, dataDir)
		nodes = append(nodes, n)
		want[env["MINIODB_SERVER_NODE_ID"]] = env["MINIODB_CLUSTER_ADVERTISE_ADDR"]
	}
	key := c.vars["MINIODB_ADMIN_KEY"]
	if code, _ := nodes[0].call("GET", "/v1/nodes", "", ""); code != 401 {
		t.Errorf("GET /v1/nodes without credentials: %d, want 401", code)
	}
	for i, n := range nodes {
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := n.nodesOf(key)
			if fmt.Sprint(got) == fmt.Sprint(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lists nodes %v, want %v", c.nodes[i], got, want)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	// Read-your-writes across nodes: rows acknowledged by each node are in
	// the answer of every node (buffers are pulled over the nodes' peer
	// calls, authenticated with cluster.secret; files come from the shared
	// catalog).
	for i, n := range nodes {
		row := fmt.Sprintf(`{"table":"h10_cluster","id":"r%d","payload":{"v":%d}}`, i, i)
		if code, body := n.call("POST", "/v1/data", key, row); code != 200 {
			t.Fatalf("write through %s: %d %s", c.nodes[i], code, body)
		}
	}
	countIs := func(n *liveNode, name string, want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := n.call("POST", "/v1/query", key, `{"sql":"SELECT count(*) AS n FROM h10_cluster"}`)
			if code == 200 && strings.Contains(body, fmt.Sprintf(`"rows":[{"n":%d}]`, want)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("count through %s: %d %s, want %d", name, code, body, want)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	for i, n := range nodes {
		countIs(n, c.nodes[i], len(nodes))
	}
	// Removing a node the way the README says (SIGTERM, as docker compose
	// stop sends it): it exits 0 within stop_grace_period, leaves the
	// registry, and its buffered row stays readable (flushed on the way out).
	last := len(nodes) - 1
	grace, _ := time.ParseDuration(str(c.service(c.nodes[last])["stop_grace_period"]))
	if code, took := nodes[last].stop(grace); code != 0 {
		t.Fatalf("%s: exit %d %s after SIGTERM, want 0", c.nodes[last], code, took)
	}
	delete(want, c.nodeEnv(c.nodes[last])["MINIODB_SERVER_NODE_ID"])
	for i, n := range nodes[:last] {
		deadline := time.Now().Add(30 * time.Second)
		for got := n.nodesOf(key); fmt.Sprint(got) != fmt.Sprint(want); got = n.nodesOf(key) {
			if time.Now().After(deadline) {
				t.Fatalf("%s lists %v after %s stopped, want %v", c.nodes[i], got, c.nodes[last], want)
			}
			time.Sleep(300 * time.Millisecond)
		}
		countIs(n, c.nodes[i], len(nodes))
	}
}

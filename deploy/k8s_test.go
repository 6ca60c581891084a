package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// k8sObjects reads every manifest under k8s/, keyed "Kind/name".
func k8sObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	err := filepath.WalkDir("k8s", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".yaml") {
			t.Errorf("%s: manifests end in .yaml", p)
			return nil
		}
		for _, o := range yamlDocs(t, p) {
			key := str(o["kind"]) + "/" + str(get(o, "metadata", "name"))
			if _, dup := objs[key]; dup {
				t.Errorf("%s defined twice", key)
			}
			if str(o["apiVersion"]) == "" || str(o["kind"]) == "" || str(get(o, "metadata", "name")) == "" {
				t.Errorf("%s: an object without apiVersion, kind or name", p)
			}
			objs[key] = o
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func object(t *testing.T, objs map[string]map[string]any, key string) map[string]any {
	t.Helper()
	o := objs[key]
	if o == nil {
		t.Fatalf("no %s in deploy/k8s", key)
	}
	return o
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// containerEnv resolves a container's env as the kubelet would for the pod
// podName: fieldRef from the downward API, secretKeyRef from the Secret
// manifests, $(VAR) from the variables defined before.
func containerEnv(t *testing.T, objs map[string]map[string]any, c any, podName, ns string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range asList(get(c, "env")) {
		name := str(get(e, "name"))
		switch {
		case get(e, "value") != nil:
			env[name] = envRef.ReplaceAllStringFunc(str(get(e, "value")), func(m string) string {
				v, ok := env[m[2:len(m)-1]]
				if !ok {
					t.Errorf("env %s refers to %s, which is not defined before it", name, m)
				}
				return v
			})
		case get(e, "valueFrom", "fieldRef") != nil:
			switch f := str(get(e, "valueFrom", "fieldRef", "fieldPath")); f {
			case "metadata.name":
				env[name] = podName
			case "metadata.namespace":
				env[name] = ns
			default:
				t.Errorf("env %s: fieldRef %s not understood by the test", name, f)
			}
		case get(e, "valueFrom", "secretKeyRef") != nil:
			ref := get(e, "valueFrom", "secretKeyRef")
			sec := object(t, objs, "Secret/"+str(get(ref, "name")))
			v, ok := asMap(sec["stringData"])[str(get(ref, "key"))]
			if !ok {
				t.Errorf("env %s: Secret %s has no key %s", name, str(get(ref, "name")), str(get(ref, "key")))
			}
			env[name] = str(v)
		default:
			t.Errorf("env %s has no value", name)
		}
	}
	return env
}

// quantity parses Kubernetes (Gi, Mi, m), Go (GiB, MiB) and DuckDB (GB)
// sizes into bytes (or millicores for "m").
func quantity(t *testing.T, s string) float64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
		{"GB", 1e9}, {"MB", 1e6}, {"G", 1e9}, {"M", 1e6}, {"m", 1e-3}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			f, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suffix), 64)
			if err != nil {
				t.Fatalf("quantity %q: %v", s, err)
			}
			return f * u.mult
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("quantity %q: %v", s, err)
	}
	return f
}

// k8sNode is the MinIODB StatefulSet with its config resolved.
type k8sNode struct {
	objs     map[string]map[string]any
	sts      map[string]any
	ns       string
	pod      any // spec.template
	c        any // the miniodb container
	cfgText  []byte
	cfg      nodeConfig
	cfgMount string // where the ConfigMap is mounted
	args     []string
}

func loadK8sNode(t *testing.T) k8sNode {
	t.Helper()
	objs := k8sObjects(t)
	n := k8sNode{objs: objs, sts: object(t, objs, "StatefulSet/miniodb")}
	n.ns = str(get(n.sts, "metadata", "namespace"))
	n.pod = get(n.sts, "spec", "template")
	n.c = get(n.pod, "spec", "containers", 0)
	n.args = strs(get(n.c, "args"))
	if len(n.args) != 3 || n.args[0] != "serve" || n.args[1] != "--config" {
		t.Fatalf("container args %q, want serve --config <file>", n.args)
	}
	cfgPath := n.args[2]
	var cmName string
	for _, v := range asList(get(n.pod, "spec", "volumes")) {
		for _, m := range asList(get(n.c, "volumeMounts")) {
			if str(get(m, "name")) == str(get(v, "name")) && get(v, "configMap") != nil && path.Dir(cfgPath) == str(get(m, "mountPath")) {
				cmName, n.cfgMount = str(get(v, "configMap", "name")), str(get(m, "mountPath"))
			}
		}
	}
	if cmName == "" {
		t.Fatalf("no ConfigMap is mounted at %s, the folder of --config %s", path.Dir(cfgPath), cfgPath)
	}
	cm := object(t, objs, "ConfigMap/"+cmName)
	text, ok := asMap(cm["data"])[path.Base(cfgPath)]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s (--config %s)", cmName, path.Base(cfgPath), cfgPath)
	}
	n.cfgText = []byte(str(text))
	n.cfg = parseNodeConfig(t, n.cfgText)
	return n
}

// containerPort returns the port number of a named container port.
func containerPort(c any, name string) string {
	for _, p := range asList(get(c, "ports")) {
		if str(get(p, "name")) == name {
			return str(get(p, "containerPort"))
		}
	}
	return ""
}

func selects(selector, labels any) bool {
	sel := asMap(selector)
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if str(get(labels, k)) != str(v) {
			return false
		}
	}
	return true
}

func TestK8sManifests(t *testing.T) {
	n := loadK8sNode(t)
	objs, cfg := n.objs, n.cfg
	object(t, objs, "Namespace/"+n.ns)
	for key, o := range objs {
		if str(o["kind"]) != "Namespace" && str(get(o, "metadata", "namespace")) != n.ns {
			t.Errorf("%s is not in namespace %s", key, n.ns)
		}
	}
	podLabels := get(n.pod, "metadata", "labels")
	if !selects(get(n.sts, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the StatefulSet's selector does not match its pods")
	}
	// Ports: the container's are the config's; every Service targets them.
	grpcPort, restPort := port(t, cfg.Server.GRPCPort), port(t, cfg.Server.RESTPort)
	if containerPort(n.c, "grpc") != grpcPort || containerPort(n.c, "rest") != restPort {
		t.Errorf("container ports grpc=%s rest=%s, want the config's %s %s", containerPort(n.c, "grpc"), containerPort(n.c, "rest"), grpcPort, restPort)
	}
	headless := object(t, objs, "Service/"+str(get(n.sts, "spec", "serviceName")))
	if str(get(headless, "spec", "clusterIP")) != "None" {
		t.Error("the StatefulSet's serviceName is not a headless Service")
	}
	for _, svc := range []map[string]any{headless, object(t, objs, "Service/miniodb")} {
		if !selects(get(svc, "spec", "selector"), podLabels) {
			t.Errorf("Service %s does not select the pods", str(get(svc, "metadata", "name")))
		}
		for _, p := range asList(get(svc, "spec", "ports")) {
			if containerPort(n.c, str(get(p, "targetPort"))) != str(get(p, "port")) {
				t.Errorf("Service %s port %v targets %v, which is not that container port", str(get(svc, "metadata", "name")), get(p, "port"), get(p, "targetPort"))
			}
		}
	}
	if !selects(get(object(t, objs, "PodDisruptionBudget/miniodb"), "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the PodDisruptionBudget does not select the pods")
	}
	// Identity: pod miniodb-N is node miniodb-N and advertises its stable
	// headless DNS name; every variable names a real key; the config passes.
	for i := range 3 {
		pod := fmt.Sprintf("%s-%d", str(get(n.sts, "metadata", "name")), i)
		env := containerEnv(t, objs, n.c, pod, n.ns)
		if env["MINIODB_SERVER_NODE_ID"] != pod {
			t.Errorf("pod %s: node id %q", pod, env["MINIODB_SERVER_NODE_ID"])
		}
		dns := fmt.Sprintf("%s.%s.%s.svc.cluster.local", pod, str(get(headless, "metadata", "name")), n.ns)
		if env["MINIODB_CLUSTER_ADVERTISE_ADDR"] != net.JoinHostPort(dns, grpcPort) || env["MINIODB_CLUSTER_ADVERTISE_REST_ADDR"] != net.JoinHostPort(dns, restPort) {
			t.Errorf("pod %s advertises %q / %q, want %s", pod, env["MINIODB_CLUSTER_ADVERTISE_ADDR"], env["MINIODB_CLUSTER_ADVERTISE_REST_ADDR"], dns)
		}
		mustCheckConfig(t, pod, writeTemp(t, "miniodb.yaml", n.cfgText), env)
	}
	env := containerEnv(t, objs, n.c, "miniodb-0", n.ns)
	keys := checkEnvKeys(t, n.cfgText, env)
	if keys["MINIODB_SERVER_NODE_ID"] != "server.node_id" || keys["MINIODB_CLUSTER_ADVERTISE_ADDR"] != "cluster.advertise_addr" {
		t.Errorf("identity variables set %v", keys)
	}
	if cfg.Security.Mode != "auth" {
		t.Errorf("security.mode %q: pods bind 0.0.0.0", cfg.Security.Mode)
	}
	checkK8sProbes(t, n, restPort)
	checkK8sStorage(t, n)
	checkK8sResources(t, n, env)
	checkK8sStores(t, n)
}

func checkK8sProbes(t *testing.T, n k8sNode, restPort string) {
	t.Helper()
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		h := get(n.c, probe, "httpGet")
		if str(get(h, "path")) != "/v1/health" || containerPort(n.c, str(get(h, "port"))) != restPort {
			t.Errorf("%s GETs %v on port %v, want /v1/health on the REST port %s", probe, get(h, "path"), get(h, "port"), restPort)
		}
	}
	sleep := strs(get(n.c, "lifecycle", "preStop", "exec", "command"))
	if len(sleep) != 2 || sleep[0] != "sleep" {
		t.Fatalf("preStop %v, want [sleep N]", sleep)
	}
	pre, _ := strconv.Atoi(sleep[1])
	grace, _ := strconv.Atoi(str(get(n.pod, "spec", "terminationGracePeriodSeconds")))
	if time.Duration(grace)*time.Second <= time.Duration(pre)*time.Second+n.cfg.Server.DrainTimeout {
		t.Errorf("terminationGracePeriodSeconds %d must exceed preStop %ds + server.drain_timeout %s", grace, pre, n.cfg.Server.DrainTimeout)
	}
}

func checkK8sStorage(t *testing.T, n k8sNode) {
	t.Helper()
	var claim any
	for _, m := range asList(get(n.c, "volumeMounts")) {
		mp := str(get(m, "mountPath"))
		if mp == n.cfg.Server.DataDir {
			for _, vct := range asList(get(n.sts, "spec", "volumeClaimTemplates")) {
				if str(get(vct, "metadata", "name")) == str(get(m, "name")) {
					claim = vct
				}
			}
		}
		if strings.HasPrefix(n.cfg.Server.DataDir, mp+"/") {
			t.Errorf("%s is mounted over server.data_dir %s", mp, n.cfg.Server.DataDir)
		}
	}
	if claim == nil {
		t.Fatalf("server.data_dir %s is not on a PersistentVolumeClaim", n.cfg.Server.DataDir)
	}
	size := quantity(t, str(get(claim, "spec", "resources", "requests", "storage")))
	need := float64(n.cfg.WAL.MaxBytes+n.cfg.Cache.MaxBytes) + quantity(t, n.cfg.Query.MaxTempDirectorySize)
	if n.cfg.WAL.MaxBytes == 0 || n.cfg.Cache.MaxBytes == 0 || size < need {
		t.Errorf("data volume %.0f GiB < wal.max_bytes + cache.max_bytes + query.max_temp_directory_size = %.1f GiB (all bounded?)", size/(1<<30), need/(1<<30))
	}
}

func checkK8sResources(t *testing.T, n k8sNode, env map[string]string) {
	t.Helper()
	res := get(n.c, "resources")
	memLimit := quantity(t, str(get(res, "limits", "memory")))
	if req := quantity(t, str(get(res, "requests", "memory"))); req > memLimit || req == 0 {
		t.Errorf("memory request %.0f above the limit %.0f", req, memLimit)
	}
	need := float64(n.cfg.Buffer.MaxMemory) + quantity(t, n.cfg.Query.MemoryLimit) + 512<<20
	if memLimit < need {
		t.Errorf("memory limit %.1f GiB < buffer.max_memory + query.memory_limit + 512 MiB = %.1f GiB", memLimit/(1<<30), need/(1<<30))
	}
	if gml := quantity(t, env["GOMEMLIMIT"]); gml >= memLimit || gml < need-512<<20 {
		t.Errorf("GOMEMLIMIT %s must be below the memory limit and above the configured memory", env["GOMEMLIMIT"])
	}
	if cpu := quantity(t, str(get(res, "limits", "cpu"))); float64(n.cfg.Query.Threads) != cpu {
		t.Errorf("query.threads %d, want the CPU limit %v (DuckDB counts the host's cores)", n.cfg.Query.Threads, cpu)
	}
	sc := get(n.pod, "spec", "securityContext")
	if get(sc, "runAsNonRoot") != true || str(get(sc, "runAsUser")) == "0" || get(sc, "fsGroup") == nil {
		t.Error("pods must run as a non-root user with an fsGroup (the PVC must be writable)")
	}
}

// checkK8sStores: the config's Redis and MinIO are the trial Services, and
// Redis persists every write.
func checkK8sStores(t *testing.T, n k8sNode) {
	t.Helper()
	for _, s := range []struct{ addr, svc string }{{n.cfg.Redis.Addr, "redis"}, {n.cfg.MinIO.Endpoint, "minio"}} {
		host, p, err := net.SplitHostPort(s.addr)
		if err != nil || host != fmt.Sprintf("%s.%s.svc.cluster.local", s.svc, n.ns) {
			t.Errorf("%q is not Service %s's DNS name (%v)", s.addr, s.svc, err)
		}
		svc := object(t, n.objs, "Service/"+s.svc)
		if str(get(svc, "spec", "ports", 0, "port")) != p {
			t.Errorf("Service %s listens on %v, the config dials %s", s.svc, get(svc, "spec", "ports", 0, "port"), p)
		}
	}
	redis := strings.Join(strs(get(object(t, n.objs, "StatefulSet/redis"), "spec", "template", "spec", "containers", 0, "args")), " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync always", "--requirepass $(REDIS_PASSWORD)"} {
		if !strings.Contains(redis, want) {
			t.Errorf("redis args %q lack %q", redis, want)
		}
	}
	envs := containerEnv(t, n.objs, get(object(t, n.objs, "StatefulSet/minio"), "spec", "template", "spec", "containers", 0), "minio-0", n.ns)
	node := containerEnv(t, n.objs, n.c, "miniodb-0", n.ns)
	if envs["MINIO_ROOT_USER"] != node["MINIODB_MINIO_ACCESS_KEY_ID"] || envs["MINIO_ROOT_PASSWORD"] != node["MINIODB_MINIO_SECRET_ACCESS_KEY"] {
		t.Error("the nodes' MinIO credentials are not the trial MinIO's")
	}
}

// backupJob returns the CronJob's container.
func backupJob(t *testing.T, objs map[string]map[string]any) any {
	t.Helper()
	return get(object(t, objs, "CronJob/miniodb-backup"), "spec", "jobTemplate", "spec", "template", "spec", "containers", 0)
}

// TestK8sNode runs pod miniodb-0 as the manifests define it (the
// ConfigMap's config, the pod's environment), its listeners on loopback and
// its Redis and MinIO the real test servers: every probe path answers 200,
// the node registers under its pod name and headless DNS address, the
// Prometheus key reads /metrics, and the backup CronJob's command, with
// the job's own environment, takes a metadata backup of the running
// cluster.
func TestK8sNode(t *testing.T) {
	n := loadK8sNode(t)
	st := newStores(t)
	root := t.TempDir()
	cfgPath := filepath.Join(root, "miniodb.yaml")
	writeAt(t, cfgPath, n.cfgText)
	env := containerEnv(t, n.objs, n.c, "miniodb-0", n.ns)
	dataDir := filepath.Join(root, "data")
	node := startNode(t, []string{binary, "serve", "--config", cfgPath}, merge(env, st, map[string]string{"MINIODB_SERVER_DATA_DIR": dataDir}))
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		node.waitHealthy(str(get(n.c, probe, "httpGet", "path")))
	}
	checkDataLayout(t, dataDir)
	sec := asMap(object(t, n.objs, "Secret/miniodb-secrets")["stringData"])
	got := node.nodesOf(str(sec["admin-api-key"]))
	if got["miniodb-0"] != env["MINIODB_CLUSTER_ADVERTISE_ADDR"] {
		t.Errorf("registered nodes %v, want miniodb-0 at %s", got, env["MINIODB_CLUSTER_ADVERTISE_ADDR"])
	}
	if code, body := node.call("GET", "/metrics", str(sec["prometheus-api-key"]), ""); code != 200 || !strings.Contains(body, "miniodb_") {
		t.Errorf("GET /metrics with the Prometheus key: %d", code)
	}
	if code, _ := node.call("GET", "/metrics", "", ""); code != 401 {
		t.Errorf("GET /metrics without a key: %d, want 401", code)
	}

	job := backupJob(t, n.objs)
	args := strs(get(job, "args"))
	if len(args) < 4 || args[0] != "backup" || args[1] != "create" || args[2] != "--config" || args[3] != n.args[2] {
		t.Fatalf("CronJob args %q, want backup create --config %s", args, n.args[2])
	}
	jobEnv := containerEnv(t, n.objs, job, "miniodb-backup-1", n.ns)
	checkEnvKeys(t, n.cfgText, jobEnv)
	args[3] = cfgPath
	run := cliCommand(t, binary, args...)
	run.Env = baseEnv(merge(jobEnv, st, map[string]string{"MINIODB_SERVER_DATA_DIR": filepath.Join(root, "job")}))
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "backup_") {
		t.Fatalf("the backup CronJob's command failed: %v\n%s", err, out)
	}
	// The restore drill's first step (deploy/README.md) on that backup.
	var made struct {
		Name string `json:"name"`
	}
	start := max(bytes.IndexByte(out, '{'), 0)
	if err := json.Unmarshal(out[start:], &made); err != nil || made.Name == "" {
		t.Fatalf("backup create printed no backup name: %v\n%s", err, out)
	}
	validate := cliCommand(t, binary, "backup", "validate", made.Name, "--config", cfgPath)
	validate.Env = run.Env
	if out, err := validate.CombinedOutput(); err != nil {
		t.Errorf("backup validate %s: %v\n%s", made.Name, err, out)
	}
	list := cliCommand(t, binary, "backup", "list", "--config", cfgPath)
	list.Env = run.Env
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "scheduled (CronJob miniodb-backup)") {
		t.Errorf("backup list does not show the CronJob's backup: %v\n%s", err, out)
	}
	if code, d := node.stop(time.Duration(atoi(t, str(get(n.pod, "spec", "terminationGracePeriodSeconds")))) * time.Second); code != 0 {
		t.Errorf("SIGTERM: exit %d after %s, want 0", code, d)
	}
}

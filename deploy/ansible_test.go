package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const roleDir = "ansible/roles/miniodb"

// inventoryHosts returns each host of the inventory's miniodb group with
// its variables: the role's defaults, then the group's, then the host's,
// plus Ansible's inventory_hostname and playbook_dir.
func inventoryHosts(t *testing.T) map[string]map[string]string {
	t.Helper()
	inv := yamlDocs(t, "ansible/inventory.example.yml")[0]
	group := get(inv, "all", "children", "miniodb")
	defaults := yamlDocs(t, filepath.Join(roleDir, "defaults", "main.yml"))[0]
	hosts := map[string]map[string]string{}
	for name, hv := range asMap(get(group, "hosts")) {
		vars := map[string]string{"inventory_hostname": name, "playbook_dir": "ansible"}
		for _, layer := range []any{defaults, get(group, "vars"), hv} {
			for k, v := range asMap(layer) {
				vars[k] = str(v)
			}
		}
		hosts[name] = vars
	}
	if len(hosts) != 3 {
		t.Fatalf("the inventory's miniodb group has %d hosts, want 3", len(hosts))
	}
	return hosts
}

var jinja = regexp.MustCompile(`\{\{\s*([^}]*?)\s*\}\}`)

// render expands the {{ var }} expressions the role uses (variables only;
// anything else fails the test, so a template cannot outgrow the check).
func render(t *testing.T, text string, vars map[string]string) string {
	t.Helper()
	if strings.Contains(text, "{%") {
		t.Fatalf("template uses {%% %%} statements, which the test does not render:\n%s", text)
	}
	for range 5 {
		if !jinja.MatchString(text) {
			return text
		}
		text = jinja.ReplaceAllStringFunc(text, func(m string) string {
			name := jinja.FindStringSubmatch(m)[1]
			v, ok := vars[name]
			if !ok {
				t.Errorf("template expression %q: no such variable in defaults or inventory", m)
			}
			return v
		})
	}
	t.Fatalf("variables refer to each other in a loop: %s", text)
	return ""
}

// unit is a parsed systemd unit: section -> key -> values.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, text string) unit {
	t.Helper()
	u := unit{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("unit line %q", line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) one(t *testing.T, key string) string {
	t.Helper()
	v := u["Service"][key]
	if len(v) != 1 {
		t.Fatalf("[Service] %s set %d times, want once", key, len(v))
	}
	return v[0]
}

// envFile parses a systemd EnvironmentFile.
func envFile(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("environment file line %q", line)
		}
		env[k] = v
	}
	return env
}

// task is one task of the role with its module's arguments.
type task struct {
	name   string
	module string // without ansible.builtin.
	args   map[string]any
	raw    map[string]any
}

func roleTasks(t *testing.T, file string) []task {
	t.Helper()
	var out []task
	for _, raw := range asList(yamlListFile(t, filepath.Join(roleDir, file))) {
		m := asMap(raw)
		tk := task{name: str(m["name"]), raw: m}
		for k, v := range m {
			if strings.HasPrefix(k, "ansible.builtin.") {
				tk.module, tk.args = strings.TrimPrefix(k, "ansible.builtin."), asMap(v)
			}
		}
		if tk.module == "" {
			t.Fatalf("task %q has no ansible.builtin module", tk.name)
		}
		out = append(out, tk)
	}
	return out
}

// yamlListFile parses a YAML file whose document is a list.
func yamlListFile(t *testing.T, p string) any {
	t.Helper()
	var v []any
	if err := yaml.Unmarshal(readFile(t, p), &v); err != nil {
		t.Fatalf("parse %s: %v", p, err)
	}
	return v
}

// applyRole does, under root, what the role's tasks do to a host: folders,
// the binary, the three templates and the configuration check. Absolute
// paths are moved under root, and so are the path variables the templates
// render, so that the installed files refer to each other there. It
// returns the installed unit's path.
func applyRole(t *testing.T, root string, vars map[string]string) string {
	t.Helper()
	vars = maps.Clone(vars)
	for _, k := range []string{"miniodb_bin_path", "miniodb_config_dir", "miniodb_data_dir"} {
		vars[k] = root + vars[k]
	}
	rooted := func(p string) string {
		if strings.HasPrefix(p, root) {
			return p
		}
		return root + p
	}
	unitPath := ""
	for _, tk := range roleTasks(t, "tasks/main.yml") {
		switch tk.module {
		case "group", "user", "systemd_service", "meta":
			// accounts and systemd itself: the test runs as its own user.
		case "file":
			if str(tk.args["state"]) != "directory" {
				t.Fatalf("task %q: file state %v", tk.name, tk.args["state"])
			}
			if err := os.MkdirAll(rooted(render(t, str(tk.args["path"]), vars)), 0o750); err != nil {
				t.Fatal(err)
			}
		case "copy":
			if str(tk.args["src"]) != "{{ miniodb_binary_src }}" || str(tk.args["dest"]) != "{{ miniodb_bin_path }}" {
				t.Fatalf("task %q copies %v to %v, want the binary", tk.name, tk.args["src"], tk.args["dest"])
			}
			writeAt(t, rooted(render(t, str(tk.args["dest"]), vars)), readFile(t, binary))
			if err := os.Chmod(rooted(render(t, str(tk.args["dest"]), vars)), 0o755); err != nil {
				t.Fatal(err)
			}
		case "template":
			src := readFile(t, filepath.Join(roleDir, "templates", str(tk.args["src"])))
			dest := rooted(render(t, str(tk.args["dest"]), vars))
			writeAt(t, dest, []byte(render(t, string(src), vars)))
			if strings.HasSuffix(dest, ".service") {
				unitPath = dest
			}
		case "command":
			var argv []string
			for _, a := range strs(tk.args["argv"]) {
				argv = append(argv, render(t, a, vars))
			}
			env := map[string]string{}
			for k, v := range asMap(tk.raw["environment"]) {
				env[k] = render(t, str(v), vars)
			}
			cmd := cliCommand(t, argv[0], argv[1:]...)
			cmd.Env = baseEnv(env)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("task %q: %v\n%s", tk.name, err, out)
			}
		default:
			t.Fatalf("task %q: module %s not understood by the test", tk.name, tk.module)
		}
	}
	if unitPath == "" {
		t.Fatal("the role installs no systemd unit")
	}
	return unitPath
}

// TestAnsibleRole renders the role for every inventory host and checks the
// configuration with the binary, the environment file's variables against
// the configuration keys, and the unit's settings against the
// configuration: a user that is not root, ExecStart with --config of the
// installed config, Restart=on-failure, SIGTERM, TimeoutStopSec beyond
// server.drain_timeout, LimitNOFILE.
func TestAnsibleRole(t *testing.T) {
	hosts := inventoryHosts(t)
	ids := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		vars := hosts[name]
		t.Run(name, func(t *testing.T) {
			cfgText := render(t, string(readFile(t, filepath.Join(roleDir, "templates", "miniodb.yaml.j2"))), vars)
			env := envFile(t, render(t, string(readFile(t, filepath.Join(roleDir, "templates", "miniodb.env.j2"))), vars))
			cfgPath := writeTemp(t, "miniodb.yaml", []byte(cfgText))
			mustCheckConfig(t, name, cfgPath, env)
			checkEnvKeys(t, []byte(cfgText), env)
			cfg := parseNodeConfig(t, []byte(cfgText))
			if ids[cfg.Server.NodeID] {
				t.Errorf("server.node_id %q twice", cfg.Server.NodeID)
			}
			ids[cfg.Server.NodeID] = true
			if want := vars["ansible_host"] + ":" + port(t, cfg.Server.GRPCPort); cfg.Cluster.AdvertiseAddr != want {
				t.Errorf("cluster.advertise_addr %q, want %q", cfg.Cluster.AdvertiseAddr, want)
			}
			// The role's own check runs with the same variables as systemd.
			for _, tk := range roleTasks(t, "tasks/main.yml") {
				if tk.module == "command" {
					if got := slices.Sorted(maps.Keys(asMap(tk.raw["environment"]))); !slices.Equal(got, slices.Sorted(maps.Keys(env))) {
						t.Errorf("task %q sets %v, the environment file %v", tk.name, got, slices.Sorted(maps.Keys(env)))
					}
				}
			}
			u := parseUnit(t, render(t, string(readFile(t, filepath.Join(roleDir, "templates", "miniodb.service.j2"))), vars))
			checkUnit(t, u, vars, cfg)
		})
	}
	vars := hosts["node-1"]
	cfg := parseNodeConfig(t, []byte(render(t, string(readFile(t, filepath.Join(roleDir, "templates", "miniodb.yaml.j2"))), vars)))
	checkPlaybook(t, vars, port(t, cfg.Server.RESTPort))
}

func checkUnit(t *testing.T, u unit, vars map[string]string, cfg nodeConfig) {
	t.Helper()
	for key, want := range map[string]string{"Type": "simple", "Restart": "on-failure", "KillSignal": "SIGTERM"} {
		if got := u.one(t, key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	if user := u.one(t, "User"); user == "root" || user == "0" || user != vars["miniodb_user"] {
		t.Errorf("User=%s, want the role's non-root %s", user, vars["miniodb_user"])
	}
	exec := strings.Fields(u.one(t, "ExecStart"))
	cfgPath := vars["miniodb_config_dir"] + "/miniodb.yaml"
	if !slices.Equal(exec, []string{vars["miniodb_bin_path"], "serve", "--config", cfgPath}) {
		t.Errorf("ExecStart %q, want %s serve --config %s", exec, vars["miniodb_bin_path"], cfgPath)
	}
	if ef := u.one(t, "EnvironmentFile"); ef != vars["miniodb_config_dir"]+"/miniodb.env" {
		t.Errorf("EnvironmentFile=%s, want the role's miniodb.env", ef)
	}
	stop, err := strconv.Atoi(u.one(t, "TimeoutStopSec"))
	if err != nil || time.Duration(stop)*time.Second <= cfg.Server.DrainTimeout {
		t.Errorf("TimeoutStopSec=%s must exceed server.drain_timeout %s (%v)", u.one(t, "TimeoutStopSec"), cfg.Server.DrainTimeout, err)
	}
	if n, err := strconv.Atoi(u.one(t, "LimitNOFILE")); err != nil || n < 65536 {
		t.Errorf("LimitNOFILE=%s, want >= 65536", u.one(t, "LimitNOFILE"))
	}
	if rw := u.one(t, "ReadWritePaths"); rw != cfg.Server.DataDir {
		t.Errorf("ReadWritePaths=%s but server.data_dir is %s (ProtectSystem=strict)", rw, cfg.Server.DataDir)
	}
	if wd := u.one(t, "WorkingDirectory"); wd != cfg.Server.DataDir {
		t.Errorf("WorkingDirectory=%s, want server.data_dir %s", wd, cfg.Server.DataDir)
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("WantedBy=%v", got)
	}
}

// checkPlaybook: one host at a time, the role applied, and the restart
// handler waiting for /v1/health on the configured REST port.
func checkPlaybook(t *testing.T, vars map[string]string, restPort string) {
	t.Helper()
	plays := asList(yamlListFile(t, "ansible/site.yml"))
	if len(plays) != 1 {
		t.Fatalf("site.yml has %d plays, want 1", len(plays))
	}
	p := plays[0]
	if str(get(p, "hosts")) != "miniodb" || str(get(p, "serial")) != "1" || !slices.Contains(strs(get(p, "roles")), "miniodb") {
		t.Errorf("site.yml: hosts %v serial %v roles %v, want miniodb, 1 (rolling), [miniodb]", get(p, "hosts"), get(p, "serial"), get(p, "roles"))
	}
	handlers := roleTasks(t, "handlers/main.yml")
	byName := map[string]task{}
	for _, h := range handlers {
		byName[h.name] = h
	}
	restart, wait := byName["Restart miniodb"], byName["Wait for health"]
	if str(restart.args["state"]) != "restarted" || str(restart.raw["notify"]) != "Wait for health" {
		t.Errorf("handler Restart miniodb: %v", restart.raw)
	}
	u, err := url.Parse(render(t, str(wait.args["url"]), vars))
	if err != nil || u.Path != "/v1/health" || u.Port() != restPort || str(wait.args["status_code"]) != "200" {
		t.Errorf("handler Wait for health GETs %v, want 200 from /v1/health on the REST port %s (%v)", wait.args["url"], restPort, err)
	}
	for _, tk := range roleTasks(t, "tasks/main.yml") {
		if n := str(tk.raw["notify"]); n != "" && byName[n].name == "" {
			t.Errorf("task %q notifies %q, which is no handler", tk.name, n)
		}
	}
}

// TestSystemdUnit installs the role for node-1 under a temporary root and,
// as a user that is not root (the test's own, or nobody when the test runs
// as root), runs the unit's ExecStart with its
// EnvironmentFile and WorkingDirectory — listeners moved to loopback ports,
// Redis and MinIO the real test servers — waits for the handler's health
// URL to answer 200, then sends the unit's KillSignal and expects exit 0
// within TimeoutStopSec.
func TestSystemdUnit(t *testing.T) {
	vars := inventoryHosts(t)["node-1"]
	root := t.TempDir()
	u := parseUnit(t, string(readFile(t, applyRole(t, root, vars))))
	env := envFile(t, string(readFile(t, u.one(t, "EnvironmentFile"))))
	argv := strings.Fields(u.one(t, "ExecStart"))
	for _, a := range argv {
		if strings.HasPrefix(a, "/") && !strings.HasPrefix(a, root) {
			t.Fatalf("ExecStart %q refers to %s outside the installed files", argv, a)
		}
	}
	creds := nonRoot(t, root)
	node := startNodeAs(t, u.one(t, "WorkingDirectory"), creds, argv, merge(env, newStores(t)))
	var wait task
	for _, h := range roleTasks(t, "handlers/main.yml") {
		if h.module == "uri" {
			wait = h
		}
	}
	hu, err := url.Parse(render(t, str(wait.args["url"]), vars))
	if err != nil {
		t.Fatal(err)
	}
	node.waitHealthy(hu.Path)
	checkDataLayout(t, u.one(t, "WorkingDirectory"))
	if creds != nil {
		st, err := os.Stat(filepath.Join(u.one(t, "WorkingDirectory"), "wal"))
		if err != nil || st.Sys().(*syscall.Stat_t).Uid != creds.Uid {
			t.Errorf("the WAL folder was not created by the unprivileged user: %v", err)
		}
	}
	// Rows in the buffer make the stop flush them to MinIO before it exits.
	// NOTE: the inventory's admin hash is the trial key of .env.example.
	key := dotEnv(t, "docker/.env.example")["MINIODB_ADMIN_KEY"]
	if sum := sha256.Sum256([]byte(key)); hex.EncodeToString(sum[:]) != vars["miniodb_admin_key_sha256"] {
		t.Fatal("the inventory's admin key hash is not the trial key's")
	}
	if code, body := node.call("POST", "/v1/data", key, `{"table":"h10_rows","id":"r1","payload":{"v":1}}`); code != 200 {
		t.Fatalf("write: %d %s", code, body)
	}
	if u.one(t, "KillSignal") != "SIGTERM" {
		t.Fatal("KillSignal is not SIGTERM")
	}
	limit := time.Duration(atoi(t, u.one(t, "TimeoutStopSec"))) * time.Second
	if code, took := node.stop(limit); code != 0 {
		t.Errorf("exit %d %s after SIGTERM, want 0", code, took)
	} else {
		t.Logf("stopped cleanly %s after SIGTERM (TimeoutStopSec %s)", took.Round(time.Millisecond), limit)
	}
	if !strings.Contains(node.logs.String(), "stopped cleanly") {
		t.Errorf("the node did not report a clean stop:\n%s", tail(node.logs.String(), 3000))
	}
}

// nonRoot returns the credentials the unit's process runs with: none (the
// test's own) unless the test runs as root; then nobody's, with the
// installed files given to nobody as the role gives them to its user.
func nonRoot(t *testing.T, root string) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	const nobody = 65534
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir's folders are 0700
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: nobody, Gid: nobody}
}

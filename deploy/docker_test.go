package deploy

import (
	"debug/elf"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(readFile(t, path)), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// stages splits the instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

func jsonArgs(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("%s %s: want the JSON (exec) form: %v", in.cmd, in.args, err)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	st := stages(parseDockerfile(t, filepath.Join("docker", "Dockerfile")))
	if len(st) != 2 {
		t.Fatalf("%d stages, want a builder and a runtime", len(st))
	}
	build, run := st[0], st[1]
	if !strings.HasPrefix(build[0].args, "golang:1.26") {
		t.Errorf("builder %q, want golang:1.26 (go.mod's Go)", build[0].args)
	}
	var goBuild string
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=1", "-tags duckdb_arrow", "./cmd/miniodb"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("build command %q lacks %q", goBuild, want)
		}
	}
	if !strings.HasPrefix(run[0].args, "debian:bookworm-slim") {
		t.Errorf("runtime image %q, want debian:bookworm-slim", run[0].args)
	}
	cfgText := readFile(t, filepath.Join("docker", "miniodb.yaml"))
	cfg := parseNodeConfig(t, cfgText)
	byCmd := map[string][]instruction{}
	for _, in := range run {
		byCmd[in.cmd] = append(byCmd[in.cmd], in)
	}
	one := func(cmd string) instruction {
		if len(byCmd[cmd]) != 1 {
			t.Fatalf("runtime stage has %d %s, want 1", len(byCmd[cmd]), cmd)
		}
		return byCmd[cmd][0]
	}
	if u := one("USER").args; u == "root" || strings.HasPrefix(u, "0") || u == "" {
		t.Errorf("USER %q: the node must not run as root", u)
	}
	if !strings.Contains(one("RUN").args, "ca-certificates") {
		t.Error("the runtime image lacks ca-certificates (TLS to S3)")
	}
	exposed := strings.Fields(one("EXPOSE").args)
	if want := []string{port(t, cfg.Server.GRPCPort), port(t, cfg.Server.RESTPort)}; !slices.Equal(exposed, want) {
		t.Errorf("EXPOSE %v, want the config's ports %v", exposed, want)
	}
	vols := jsonArgs(t, one("VOLUME"))
	d := cfg.Server.DataDir
	if want := []string{d, d + "/wal", d + "/cache"}; !slices.Equal(vols, want) {
		t.Errorf("VOLUME %v, want server.data_dir and its wal/ and cache/ %v", vols, want)
	}
	hc := one("HEALTHCHECK").args
	if !strings.Contains(hc, "127.0.0.1:"+port(t, cfg.Server.RESTPort)+"/v1/health") || !strings.Contains(hc, "curl") {
		t.Errorf("HEALTHCHECK %q does not GET /v1/health on the REST port", hc)
	}
	if !strings.Contains(one("RUN").args, "curl") {
		t.Error("HEALTHCHECK uses curl, which the runtime stage does not install")
	}
	if one("STOPSIGNAL").args != "SIGTERM" {
		t.Errorf("STOPSIGNAL %q, want SIGTERM (drain)", one("STOPSIGNAL").args)
	}
	// The config the image carries is the one CMD and MINIODB_CONFIG name.
	var cfgDest string
	for _, in := range byCmd["COPY"] {
		f := strings.Fields(in.args)
		if f[len(f)-2] == "deploy/docker/miniodb.yaml" {
			cfgDest = f[len(f)-1]
		}
	}
	if cmd := jsonArgs(t, one("CMD")); !slices.Equal(cmd, []string{"serve", "--config", cfgDest}) {
		t.Errorf("CMD %v, want serve --config %s", cmd, cfgDest)
	}
	if env := one("ENV").args; env != "MINIODB_CONFIG="+cfgDest {
		t.Errorf("ENV %q, want MINIODB_CONFIG=%s", env, cfgDest)
	}
	if ep := jsonArgs(t, one("ENTRYPOINT")); len(ep) != 1 || ep[0] != "/usr/local/bin/miniodb" {
		t.Errorf("ENTRYPOINT %v", ep)
	}
	mustCheckConfig(t, "image config", filepath.Join("docker", "miniodb.yaml"), map[string]string{
		"MINIODB_SECURITY_JWT_SECRET": strings.Repeat("s", 32), "MINIODB_MINIO_ACCESS_KEY_ID": "k", "MINIODB_MINIO_SECRET_ACCESS_KEY": "s",
		"MINIODB_CLUSTER_SECRET": strings.Repeat("c", 16),
	})
}

// TestRuntimeLibraries checks that the binary built like the image's (cgo,
// duckdb_arrow) needs only shared libraries debian:bookworm-slim has.
func TestRuntimeLibraries(t *testing.T) {
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	inSlim := map[string]bool{ // libc6, libgcc-s1, libstdc++6: all in bookworm-slim (apt needs them)
		"libc.so.6": true, "libm.so.6": true, "libdl.so.2": true, "libpthread.so.0": true, "librt.so.1": true,
		"libresolv.so.2": true, "libstdc++.so.6": true, "libgcc_s.so.1": true,
		"ld-linux-x86-64.so.2": true, "ld-linux-aarch64.so.1": true,
	}
	if len(libs) == 0 {
		t.Fatal("the binary links no shared library: was it built without cgo?")
	}
	for _, l := range libs {
		if !inSlim[l] {
			t.Errorf("the binary needs %s, which debian:bookworm-slim does not ship", l)
		}
	}
}

// TestDockerignore checks that the build context keeps what the Dockerfile
// copies and drops the local data and caches.
func TestDockerignore(t *testing.T) {
	ignored := map[string]bool{}
	for _, l := range strings.Split(string(readFile(t, filepath.Join("docker", "Dockerfile.dockerignore"))), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ignored[l] = true
		}
	}
	for _, must := range []string{".git", "data", ".cache", "bin"} {
		if !ignored[must] {
			t.Errorf("%s is sent to the Docker build context", must)
		}
	}
	for _, in := range parseDockerfile(t, filepath.Join("docker", "Dockerfile")) {
		if in.cmd != "COPY" || strings.Contains(in.args, "--from") {
			continue
		}
		f := strings.Fields(in.args)
		for _, src := range f[:len(f)-1] {
			if src == "." {
				continue
			}
			top, _, _ := strings.Cut(src, "/")
			if ignored[src] || ignored[top] {
				t.Errorf("COPY %s: ignored by Dockerfile.dockerignore", src)
			}
			if _, err := filepath.Glob(filepath.Join("..", src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
			readFile(t, filepath.Join("..", src))
		}
	}
}

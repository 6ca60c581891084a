package testenv

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// MinIOVersion is the MinIO server module version the tests run; the
// Makefile's MINIO_VERSION must name the same one (a test checks).
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// minioModule is what `go install` builds.
const minioModule = "github.com/minio/minio"

// RepoRoot returns the folder holding MinIODB's go.mod.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		root := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	gomod := string(out[:len(out)-1])
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find repository root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// CacheBin is the gitignored folder where built servers are kept.
func CacheBin() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "bin"), nil
}

// RedisServerBinary returns the path of redis-server, installing it from
// Debian when it is missing.
func RedisServerBinary(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	unlock, err := installLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if p, err := exec.LookPath("redis-server"); err == nil { // another process installed it meanwhile
		return p, nil
	}
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "redis-server"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("install redis-server: apt-get %v: %w\n%s", args, err, out)
		}
	}
	return exec.LookPath("redis-server")
}

// MinIOBinary returns the path of a MinIO server binary, building it with
// `go install` into CacheBin when none is found.
func MinIOBinary(ctx context.Context) (string, error) {
	if p, ok := findMinIO(); ok {
		return p, nil
	}
	unlock, err := installLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if p, ok := findMinIO(); ok {
		return p, nil
	}
	p, err := cachedMinIO()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "install", minioModule+"@"+MinIOVersion)
	// NOTE: our GOFLAGS (build tags) and module are not MinIO's; build it
	// from a neutral folder with a clean GOFLAGS.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(p), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("install minio %s: %w\n%s", MinIOVersion, err, out)
	}
	if !isExecutable(p) {
		return "", fmt.Errorf("install minio: %s missing after go install", p)
	}
	return p, nil
}

// cachedMinIO is where the pinned MinIO version is kept: one folder per
// version, so that changing MinIOVersion builds the new one.
func cachedMinIO() (string, error) {
	bin, err := CacheBin()
	if err != nil {
		return "", err
	}
	return filepath.Join(bin, "minio-"+MinIOVersion, "minio"), nil
}

func findMinIO() (string, bool) {
	var candidates []string
	if p := os.Getenv("MINIODB_MINIO_BIN"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := cachedMinIO(); err == nil {
		candidates = append(candidates, p)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		candidates = append(candidates, filepath.Join(dir, "bin", "minio"))
	}
	for _, p := range candidates {
		if isExecutable(p) {
			return p, true
		}
	}
	p, err := exec.LookPath("minio")
	return p, err == nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// installLock takes an exclusive file lock shared by every process of this
// repository, bounded to 15 minutes (a cold MinIO build takes about 5).
func installLock() (unlock func(), err error) {
	bin, err := CacheBin()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(bin, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

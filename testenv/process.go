package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// process is one server child process that can be stopped and started
// again with the same arguments (so the same port and data folder).
type process struct {
	t       testing.TB
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	ready   func() error // nil once the server answers

	cmd    *exec.Cmd
	exited chan struct{}
}

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

func (p *process) start() {
	p.t.Helper()
	if p.running() {
		return
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	defer logf.Close()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	// NOTE: the server stays in our process group, so a Ctrl-C of `go
	// test` (which skips cleanups) stops it too instead of orphaning it.
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	p.exited = exited
	cmd := p.cmd
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(startTimeout)
	for {
		err := p.ready()
		if err == nil {
			return
		}
		select {
		case <-exited:
			p.t.Fatalf("%s exited during start-up:\n%s", p.name, p.logTail())
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			p.t.Fatalf("%s not ready within %s: %v\n%s", p.name, startTimeout, err, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits, escalating to SIGKILL after stopTimeout.
func (p *process) stop() {
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.t.Logf("%s ignored SIGTERM for %s; killing it", p.name, stopTimeout)
		p.kill()
	}
}

func (p *process) kill() {
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *process) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// register stops p when the test ends and shows its log if the test failed.
func (p *process) register() {
	p.t.Cleanup(func() {
		p.stop()
		if p.t.Failed() {
			p.t.Logf("%s log (%s):\n%s", p.name, p.logPath, p.logTail())
		}
	})
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// tempDir is t.TempDir for a server folder; name is only a readable prefix.
func tempDir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

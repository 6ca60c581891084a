package wal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The crash test re-executes the test binary with crashDirEnv set. TestMain
// then runs crashChild instead of the tests.
const (
	crashDirEnv      = "MINIODB_WAL_CRASH_DIR"
	crashRunEnv      = "MINIODB_WAL_CRASH_RUN"
	crashAppenders   = 4
	crashSegmentSize = 32 << 10
	crashMaxBytes    = 256 << 20 // bounds the disk use of a runaway child
)

// crashPayload is the payload appender g writes as its seq-th record of run.
func crashPayload(run, g, seq int) []byte {
	tag := fmt.Sprintf("%d/%d/%d|", run, g, seq)
	h := fnv.New64a()
	h.Write([]byte(tag))
	sum := h.Sum64()
	body := make([]byte, sum%3000)
	for i := range body {
		body[i] = byte(sum >> (8 * (i % 8)))
	}
	return append([]byte(tag), body...)
}

// crashChild appends from several goroutines until it is killed and prints
// "lsn run appender seq" for every acknowledged append. It returns the exit code.
func crashChild() int {
	run, _ := strconv.Atoi(os.Getenv(crashRunEnv))
	w, err := Open(Options{Dir: os.Getenv(crashDirEnv), SegmentSize: crashSegmentSize, MaxBytes: crashMaxBytes})
	if err == nil {
		err = w.Replay(func(uint64, []byte) error { return nil })
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	var mu sync.Mutex // one line per write(2)
	var wg sync.WaitGroup
	for g := range crashAppenders {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				p, err := w.Append(crashPayload(run, g, seq))
				if err == nil {
					err = p.Wait(context.Background())
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d %d %d %d\n", p.LSN, run, g, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

type ack struct{ run, g, seq int }

func TestCrashKill10Times(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	acked := map[uint64]ack{}
	for run := range 10 {
		killAfter := 1 + rng.IntN(400)
		n := crashRun(t, exe, dir, run, killAfter, acked)
		t.Logf("run %d: killed after %d acknowledged appends (target %d)", run, n, killAfter)
		verifyAcked(t, dir, acked)
	}
}

// crashRun starts a child, SIGKILLs it once it has acknowledged killAfter
// appends, and records every acknowledgement it printed before dying.
func crashRun(t *testing.T, exe, dir string, run, killAfter int, acked map[uint64]ack) int {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(testTimeout, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	n, err := readAcks(out, killAfter, acked, func() { _ = cmd.Process.Kill() })
	werr := cmd.Wait()
	if err != nil {
		t.Fatalf("run %d: %v (child: %v, stderr: %s)", run, err, werr, stderr.String())
	}
	if n < killAfter {
		t.Fatalf("run %d: child died after %d acks: %v, stderr: %s", run, n, werr, stderr.String())
	}
	return n
}

// readAcks parses acknowledgement lines until EOF, calling kill once it has
// seen killAfter of them. It returns how many it saw.
func readAcks(r io.Reader, killAfter int, acked map[uint64]ack, kill func()) (int, error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		var lsn uint64
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "%d %d %d %d", &lsn, &a.run, &a.g, &a.seq); err != nil {
			return n, fmt.Errorf("bad line %q: %w", sc.Text(), err)
		}
		if prev, dup := acked[lsn]; dup {
			return n, fmt.Errorf("lsn %d acknowledged twice: %v and %v", lsn, prev, a)
		}
		acked[lsn] = a
		if n++; n == killAfter {
			kill()
		}
	}
	return n, sc.Err()
}

// verifyAcked replays dir and checks that every acknowledged LSN is there
// exactly once with its payload, and that LSNs are contiguous.
func verifyAcked(t *testing.T, dir string, acked map[uint64]ack) {
	t.Helper()
	w := openT(t, Options{Dir: dir, SegmentSize: crashSegmentSize})
	seen := map[uint64]bool{}
	var prev uint64
	err := w.Replay(func(lsn uint64, payload []byte) error {
		if prev != 0 && lsn != prev+1 {
			return fmt.Errorf("lsn %d follows %d", lsn, prev)
		}
		prev, seen[lsn] = lsn, true
		if a, ok := acked[lsn]; ok && !bytes.Equal(payload, crashPayload(a.run, a.g, a.seq)) {
			return fmt.Errorf("lsn %d has the wrong payload (%.20q), want run/appender/seq %v", lsn, payload, a)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("replay after kill: %v", err)
	}
	for lsn := range acked {
		if !seen[lsn] {
			t.Fatalf("acknowledged lsn %d lost (replayed up to %d)", lsn, prev)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

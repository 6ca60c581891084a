package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// waitQuiet returns soon for an idle process and gives up on a busy one.
func TestWaitQuiet(t *testing.T) {
	cases := []struct {
		name  string
		cmd   []string
		quiet bool
	}{
		{"idle", []string{"sleep", "30"}, true},
		{"busy", []string{"sh", "-c", "while :; do :; done"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tc.cmd[0], tc.cmd[1:]...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			start := time.Now()
			err := waitQuiet(context.Background(), cmd.Process.Pid, 2*time.Second)
			if tc.quiet && (err != nil || time.Since(start) > time.Second) {
				t.Fatalf("idle process: %v after %v", err, time.Since(start))
			}
			if !tc.quiet && err == nil {
				t.Fatal("a process spinning on a core counted as quiet")
			}
		})
	}
}

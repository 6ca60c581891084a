package query

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any leaves a goroutine behind
// (the interrupt watchers of sessions included).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

package httpfront

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: every
// long-poll and subscription must end with its request or with
// Server.Shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

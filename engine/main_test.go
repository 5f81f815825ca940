package engine

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: every
// Store.Close must stop the pipeline, the id ingester and the filter
// builder.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

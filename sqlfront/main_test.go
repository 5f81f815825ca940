package sqlfront

import (
	"os"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestMain(m *testing.M) {
	// go-mysql-server logs every connection and failed query through
	// logrus; keep test output readable.
	logrus.SetLevel(logrus.ErrorLevel)
	os.Exit(m.Run())
}

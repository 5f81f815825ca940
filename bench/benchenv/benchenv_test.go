//go:build linux

package benchenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFSName(t *testing.T) {
	for _, tt := range []struct {
		magic int64
		want  string
	}{
		{unix.EXT4_SUPER_MAGIC, "ext4"},
		{unix.XFS_SUPER_MAGIC, "xfs"},
		{0x1234, "0x1234"},
	} {
		if got := fsName(tt.magic); got != tt.want {
			t.Errorf("fsName(%#x) = %q, want %q", tt.magic, got, tt.want)
		}
	}
	if got := FSType(filepath.Join(t.TempDir(), "missing")); got != "unknown" {
		t.Errorf("FSType of a missing dir = %q", got)
	}
	if Kernel() == "" {
		t.Error("Kernel() is empty on Linux")
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(path, map[string]int{"events": 3}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := json.Unmarshal(b, &got); err != nil || got["events"] != 3 {
		t.Fatalf("read back %q: %v", b, err)
	}
}

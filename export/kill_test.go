package export

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
)

const (
	killChildStore = "EVENTSQL_EXPORT_KILL_STORE"
	killChildOut   = "EVENTSQL_EXPORT_KILL_OUT"
	killChildPoint = "EVENTSQL_EXPORT_KILL_POINT"
)

// TestKillChild is the child of TestKilledExport: it exports the store
// (read-only, through a LogReader: the parent holds it open), says
// "ready" at the kill point and waits to be killed.
func TestKillChild(t *testing.T) {
	storeDir := os.Getenv(killChildStore)
	if storeDir == "" {
		t.Skip("run by TestKilledExport")
	}
	r, err := engine.OpenLogReader(context.Background(), storeDir)
	if err != nil {
		t.Fatal(err)
	}
	ready := func() {
		fmt.Println("ready")
		time.Sleep(time.Minute)
	}
	o := Options{Dir: os.Getenv(killChildOut), RowGroupRows: 100}
	switch os.Getenv(killChildPoint) {
	case "parts": // every part file renamed into place, manifest not replaced
		o.afterParts = ready
	case "writing": // part files half written under temp names
		// The writer creating the second part file stops there, so the
		// run cannot end before it is killed (a Progress callback runs
		// beside the export, which could finish meanwhile).
		var n atomic.Int32
		o.create = func(name string) (outFile, error) {
			f, err := createOS(name)
			if err == nil && n.Add(1) == 2 {
				ready()
			}
			return f, err
		}
	}
	Run(context.Background(), r, o)
	t.Fatal("not killed")
}

// TestKilledExport kills (SIGKILL) a child process in the middle of an
// export and checks the previous snapshot is intact and valid, and that
// the next run cleans up the leftovers and exports everything.
func TestKilledExport(t *testing.T) {
	for _, point := range []string{"parts", "writing"} {
		t.Run(point, func(t *testing.T) {
			storeDir, out := t.TempDir(), t.TempDir()
			s, _ := openStore(t, storeDir)
			for i := range 100 {
				appendJSON(t, s, fmt.Sprintf("k-%d", i%3), fmt.Sprintf("T%d", i%2), fmt.Sprintf(`{"i":%d}`, i))
			}
			run(t, s, Options{Dir: out})
			before, _ := os.ReadFile(filepath.Join(out, ManifestName))
			for b := range 30 {
				data := make([]string, 1000)
				for i := range data {
					data[i] = fmt.Sprintf(`{"i":%d,"pad":"%0300d"}`, i, i)
				}
				appendJSON(t, s, fmt.Sprintf("k-%d", b%3), fmt.Sprintf("T%d", b%2), data...)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), killChildStore+"="+storeDir, killChildOut+"="+out, killChildPoint+"="+point)
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			ok := false
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "ready" {
					ok = true
					break
				}
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if !ok {
				t.Fatal("the child never reached the kill point")
			}
			after, _ := os.ReadFile(filepath.Join(out, ManifestName))
			if string(before) != string(after) {
				t.Fatal("the manifest changed")
			}
			// Leftovers are there (parts not listed, or temp files) ...
			var leftovers int
			filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
				if d != nil && !d.IsDir() && (strings.HasPrefix(d.Name(), tempPrefix) || strings.HasSuffix(d.Name(), ".parquet")) {
					rel, _ := filepath.Rel(out, p)
					if !strings.Contains(string(before), `"`+filepath.ToSlash(rel)+`"`) {
						leftovers++
					}
				}
				return nil
			})
			if leftovers == 0 {
				t.Fatal("the killed run left nothing behind; the test did not kill it mid-way")
			}
			// ... and every file the manifest lists still reads back.
			m, ok2, err := loadManifest(out)
			if err != nil || !ok2 {
				t.Fatal(err)
			}
			for _, f := range m.Files {
				if pf := readParquet(t, filepath.Join(out, filepath.FromSlash(f.Path))); pf.rows != f.Rows {
					t.Fatalf("%s: %d rows", f.Path, pf.rows)
				}
			}
			sum := run(t, s, Options{Dir: out})
			if sum.Events != 30000 || sum.Removed != leftovers {
				t.Fatalf("next run: %+v, %d leftovers", sum, leftovers)
			}
			m, files := snapshot(t, out)
			if n := len(datasetRows(m, files, "events")); n != 30100 {
				t.Fatalf("%d events", n)
			}
		})
	}
}

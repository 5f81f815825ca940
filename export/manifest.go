package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventsql/eventsql/typeinfer"
)

// ManifestName is the manifest's file name in the export directory.
const ManifestName = "_manifest.json"

// manifestFormat is the version of the manifest's layout.
const manifestFormat = 1

// maxManifestBytes caps what is read from disk before parsing.
const maxManifestBytes = 1 << 30

// Manifest describes a snapshot: what it covers and every file in it.
// It is replaced atomically by each run; files not listed are not part
// of the snapshot.
type Manifest struct {
	FormatVersion   int    `json:"formatVersion"`
	StoreID         string `json:"storeId"`
	EventsqlVersion string `json:"eventsqlVersion"`
	ExportedAt      string `json:"exportedAt"`
	// FromPosition and ToPosition: the snapshot holds every event (that
	// the filters select) with a position in [FromPosition, ToPosition].
	FromPosition uint64  `json:"fromPosition"`
	ToPosition   uint64  `json:"toPosition"`
	Filters      Filters `json:"filters"`
	Runs         int     `json:"runs"`
	// Datasets by name ("events", "by_type/<T>").
	Datasets map[string]*Dataset `json:"datasets"`
	Files    []File              `json:"files"`
}

// Dataset is the schema history of one dataset.
type Dataset struct {
	// EventType is set for by_type datasets.
	EventType string `json:"eventType,omitempty"`
	// Schemas used by its files (File.Schema indexes it); the last is the
	// current, widest one.
	Schemas [][]Column `json:"schemas"`
	// Inference is the saved inference state of a by_type dataset.
	Inference []typeinfer.SavedField `json:"inference,omitempty"`
}

// File is one part file of the snapshot.
type File struct {
	Path         string `json:"path"` // relative to the export directory, with /
	Dataset      string `json:"dataset"`
	Date         string `json:"date"`
	Rows         int64  `json:"rows"`
	Bytes        int64  `json:"bytes"`
	FromPosition uint64 `json:"fromPosition"`
	ToPosition   uint64 `json:"toPosition"`
	Schema       int    `json:"schema"`
}

// ErrBadManifest marks a manifest that cannot be used.
var ErrBadManifest = errors.New("bad export manifest")

// StoreMismatchError is returned when the export directory holds the
// export of another store.
type StoreMismatchError struct {
	Dir, Want, Got string
}

func (e *StoreMismatchError) Error() string {
	return fmt.Sprintf("%s holds an export of store %s, not of this store (%s): use another directory", e.Dir, e.Got, e.Want)
}

// ForeignFilesError is returned when a first export would write into
// events/ or by_type/ directories that hold files it did not write (a
// Spark table, another tool's export): readers globbing the dataset would
// read them as part of it.
type ForeignFilesError struct {
	Dir  string
	Path string // one such file, relative to Dir
}

func (e *ForeignFilesError) Error() string {
	return fmt.Sprintf("%s holds files eventsql export did not write (%s) and no %s: export into an empty directory or into an earlier eventsql export", e.Dir, e.Path, ManifestName)
}

// FilterMismatchError is returned when an incremental run's filters
// differ from the snapshot's.
type FilterMismatchError struct {
	Dir       string
	Have, Now Filters
}

func (e *FilterMismatchError) Error() string {
	return fmt.Sprintf("%s was exported with %s; this run asks for %s: export with --full (full=true over HTTP) to rewrite it with the new filters",
		e.Dir, e.Have, e.Now)
}

// loadManifest reads DIR/_manifest.json; ok is false when there is none.
func loadManifest(dir string) (*Manifest, bool, error) {
	p := filepath.Join(dir, ManifestName)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	if st.Size() > maxManifestBytes {
		return nil, false, fmt.Errorf("%w: %s is %d bytes", ErrBadManifest, p, st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	return m, true, nil
}

// parseManifest decodes and checks a manifest: every file must be a
// relative path inside its dataset's directory, ending in .parquet, with
// a valid schema index.
func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if m.FormatVersion != manifestFormat {
		return nil, fmt.Errorf("%w: format version %d (this eventsql reads %d)", ErrBadManifest, m.FormatVersion, manifestFormat)
	}
	if m.StoreID == "" {
		return nil, fmt.Errorf("%w: no store id", ErrBadManifest)
	}
	if m.ToPosition < m.FromPosition && m.ToPosition != 0 {
		return nil, fmt.Errorf("%w: positions %d..%d", ErrBadManifest, m.FromPosition, m.ToPosition)
	}
	if m.Datasets == nil {
		m.Datasets = map[string]*Dataset{}
	}
	for name, d := range m.Datasets {
		if d == nil || !validDatasetName(name) {
			return nil, fmt.Errorf("%w: dataset %q", ErrBadManifest, name)
		}
		if _, err := typeinfer.NewInferrer(d.Inference); err != nil {
			return nil, fmt.Errorf("%w: dataset %q: %v", ErrBadManifest, name, err)
		}
		for _, s := range d.Schemas {
			for _, c := range s {
				switch c.Type {
				case typeBigint, typeDouble, typeBoolean, typeString, typeTimestamp:
				default:
					return nil, fmt.Errorf("%w: dataset %q: column %q of type %q", ErrBadManifest, name, c.Name, c.Type)
				}
			}
		}
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		d := m.Datasets[f.Dataset]
		switch {
		case d == nil:
			return nil, fmt.Errorf("%w: file %q of unknown dataset %q", ErrBadManifest, f.Path, f.Dataset)
		case f.Schema < 0 || f.Schema >= len(d.Schemas):
			return nil, fmt.Errorf("%w: file %q: schema %d out of range", ErrBadManifest, f.Path, f.Schema)
		case !validFilePath(f):
			return nil, fmt.Errorf("%w: file path %q", ErrBadManifest, f.Path)
		case seen[f.Path]:
			return nil, fmt.Errorf("%w: file %q listed twice", ErrBadManifest, f.Path)
		}
		seen[f.Path] = true
	}
	return &m, nil
}

func validDatasetName(name string) bool {
	if name == "events" {
		return true
	}
	t, ok := strings.CutPrefix(name, "by_type/")
	return ok && t != "" && !strings.ContainsAny(t, "/\\") && t != "." && t != ".." && !strings.HasPrefix(t, "_")
}

// validFilePath: <dataset>/date=YYYY-MM-DD/<name>.parquet, clean and relative.
func validFilePath(f File) bool {
	if path.Clean(f.Path) != f.Path || path.IsAbs(f.Path) || strings.Contains(f.Path, "\\") {
		return false
	}
	dir, name := path.Split(f.Path)
	if dir != f.Dataset+"/date="+f.Date+"/" || !strings.HasSuffix(name, ".parquet") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		return false
	}
	_, err := time.Parse(time.DateOnly, f.Date)
	return err == nil
}

// writeManifest replaces DIR/_manifest.json atomically: a temp file,
// fsync, rename, fsync of the directory.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, ManifestName, append(b, '\n'))
}

// writeFileAtomic writes DIR/name through DIR/_name.tmp.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, tempPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

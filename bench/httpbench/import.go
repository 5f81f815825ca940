//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/duckdbnode"
)

// runImport generates the NDJSON and TSV files, then loads them into
// eventsql (POST /import), MariaDB (LOAD DATA) and DuckDB (read_ndjson),
// timing only the loads.
func (b *bench) runImport(ctx context.Context, num int) (*Scenario, error) {
	sc := &Scenario{Name: "import", Title: "import", Target: "≥ 200 MB/s"}
	progress("import: writing %s of NDJSON and the same events as TSV", bytesIEC(float64(b.cfg.importSize)))
	t0 := time.Now()
	files, err := writeImportFiles(ctx, b.gen, b.runDir, num<<4, b.cfg.importSize, b.cfg.importPerStream)
	defer os.Remove(files.ndjson)
	defer os.Remove(files.tsv)
	if err != nil {
		return nil, err
	}
	progress("import: %s events over %d streams, NDJSON %s, TSV %s, written in %s",
		benchfmt.Count(float64(files.events)), files.layout.streams, bytesIEC(float64(files.ndjsonBytes)),
		bytesIEC(float64(files.tsvBytes)), time.Since(t0).Round(100*time.Millisecond))
	sc.Notes = fmt.Sprintf("%d events over %d streams; NDJSON %d bytes, TSV %d bytes", files.events, files.layout.streams, files.ndjsonBytes, files.tsvBytes)

	add := func(r SystemResult) {
		sc.Results = append(sc.Results, r)
		b.tab.system(sc, r)
	}
	if b.cfg.systems["eventsql"] {
		progress("import: eventsql POST /import")
		r, err := b.importEventsql(ctx, files)
		if err != nil {
			return nil, fmt.Errorf("eventsql: %w", err)
		}
		add(r)
	}
	if b.mariadb != nil {
		progress("import: MariaDB LOAD DATA LOCAL INFILE")
		r, err := b.importMariaDB(ctx, files)
		if err != nil {
			return nil, fmt.Errorf("MariaDB: %w", err)
		}
		add(r)
	}
	if b.cfg.systems["duckdb"] {
		progress("import: DuckDB read_ndjson")
		r, err := b.importDuckDB(ctx, files)
		if err != nil {
			return nil, fmt.Errorf("DuckDB: %w", err)
		}
		add(r)
	}
	sc.relate(func(r *SystemResult) bool { return r.MBPerSec >= 200 })
	b.tab.ratios(sc)
	return sc, nil
}

// loadResultFor is a single timed load of the whole file.
func loadResultFor(system string, f importFiles, events int64, d time.Duration) SystemResult {
	s := d.Seconds()
	return SystemResult{
		System:       system,
		Events:       events,
		Requests:     1,
		Bytes:        f.ndjsonBytes,
		Seconds:      s,
		EventsPerSec: float64(events) / s,
		MBPerSec:     float64(f.ndjsonBytes) / s / 1e6,
	}
}

func (b *bench) importEventsql(ctx context.Context, f importFiles) (SystemResult, error) {
	srv, err := startEventsql(ctx, b.bin, b.runDir, "import")
	if err != nil {
		return SystemResult{}, err
	}
	defer srv.stop()
	benchproc.ResetPeakRSS(srv.pid())
	c0 := sampleCPU(srv.pid())
	reply, d, err := importEventsql(ctx, srv.url, f.ndjson)
	cpu := c0.until(sampleCPU(srv.pid()))
	if errors.Is(err, errImportMissing) {
		return SystemResult{System: "eventsql", Skipped: "skipped: /import not available"}, srv.stop()
	}
	if err != nil {
		return SystemResult{}, err
	}
	if reply.Written != int64(f.events) || reply.Rejected != 0 {
		return SystemResult{}, fmt.Errorf("/import wrote %d and rejected %d of %d events", reply.Written, reply.Rejected, f.events)
	}
	head, err := srv.head(ctx)
	if err != nil {
		return SystemResult{}, err
	}
	if head != uint64(f.events) {
		return SystemResult{}, fmt.Errorf("store head is %d after importing %d events", head, f.events)
	}
	r := loadResultFor("eventsql", f, reply.Written, d)
	r.CPU = &cpu
	r.PeakRSSBytes = benchproc.StatusBytes(srv.pid(), "VmHWM")
	r.Notes = "POST /import, one streamed request"
	return r, srv.stop()
}

func (b *bench) importMariaDB(ctx context.Context, f importFiles) (SystemResult, error) {
	if err := b.mariadb.resetTable(ctx); err != nil {
		return SystemResult{}, err
	}
	benchproc.ResetPeakRSS(b.mariadb.pid())
	c0 := sampleCPU(b.mariadb.pid())
	n, d, err := b.mariadb.loadData(ctx, f.tsv)
	cpu := c0.until(sampleCPU(b.mariadb.pid()))
	if err != nil {
		return SystemResult{}, err
	}
	if n != int64(f.events) {
		return SystemResult{}, fmt.Errorf("LOAD DATA loaded %d of %d rows", n, f.events)
	}
	r := loadResultFor("mariadb", f, n, d)
	r.CPU = &cpu
	r.PeakRSSBytes = benchproc.StatusBytes(b.mariadb.pid(), "VmHWM")
	r.Notes = fmt.Sprintf("LOAD DATA LOCAL INFILE of the TSV (%s MB/s of TSV)", benchfmt.Num(float64(f.tsvBytes)/d.Seconds()/1e6))
	return r, nil
}

func (b *bench) importDuckDB(ctx context.Context, f importFiles) (SystemResult, error) {
	mod, err := duckdbnode.Ensure(ctx, b.cfg.nodeDir, b.cfg.install, progress)
	if err != nil {
		return SystemResult{System: "duckdb", Skipped: "skipped: " + firstLine(err.Error())}, nil
	}
	m0, t0 := machineBusy(), time.Now()
	res, rusage, err := runDuckDB(ctx, mod, b.runDir, f.ndjson)
	wall := time.Since(t0).Seconds()
	if err != nil {
		return SystemResult{}, err
	}
	if res.Rows != int64(f.events) {
		return SystemResult{}, fmt.Errorf("DuckDB loaded %d of %d rows", res.Rows, f.events)
	}
	b.rep.Env.DuckDBVersion, b.rep.Env.DuckDBThreads = res.Version, res.Threads
	d := time.Duration((res.CreateSeconds + res.CheckpointSeconds) * float64(time.Second))
	r := loadResultFor("duckdb", f, res.Rows, d)
	if rusage != nil {
		// Over node's whole life, start-up and the count included.
		r.PeakRSSBytes = rusage.Maxrss << 10
		cpu := time.Duration(rusage.Utime.Nano() + rusage.Stime.Nano())
		r.CPU = &CPUUse{Server: cpu.Seconds() / wall, Client: 0, Machine: (machineBusy() - m0) / wall}
	}
	r.Notes = fmt.Sprintf("%s, %d threads: CREATE TABLE AS read_ndjson %ss + CHECKPOINT %ss",
		res.Version, res.Threads, benchfmt.Num(res.CreateSeconds), benchfmt.Num(res.CheckpointSeconds))
	return r, nil
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

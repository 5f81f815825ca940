package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// duckdbPackage is pinned like bench/httpbench's, so runs compare.
const duckdbPackage = "@duckdb/node-api@1.5.6-r.1"

// duckdbScript loads the NDJSON into a table (untimed), then times
// COPY (SELECT ...) TO 'x.parquet' from the table, and separately
// read_ndjson + COPY end to end. The SELECT gives the columns eventsql's
// events dataset has (data and metadata as JSON text).
const duckdbScript = `
const { DuckDBInstance } = require(process.argv[2]);
(async () => {
  const [,, , dir, ndjson, compression] = process.argv;
  const q = (s) => "'" + s.replaceAll("'", "''") + "'";
  const inst = await DuckDBInstance.create(":memory:");
  const con = await inst.connect();
  const v = (await con.runAndReadAll("SELECT version(), current_setting('threads')")).getRows()[0];
  const src = "read_ndjson(" + q(ndjson) + ", columns={stream:'VARCHAR', eventType:'VARCHAR', eventId:'VARCHAR', data:'JSON', metadata:'JSON'})";
  const sel = (from) => "SELECT row_number() OVER () AS position, stream, 0::BIGINT AS version, eventId AS event_id, eventType AS event_type, now()::TIMESTAMPTZ AS created_at, data::VARCHAR AS data, true AS data_is_json, metadata::VARCHAR AS metadata, true AS metadata_is_json FROM " + from;
  await con.run("CREATE TABLE t AS " + sel(src));
  const out1 = dir + "/duckdb-copy.parquet", out2 = dir + "/duckdb-ndjson.parquet";
  let t0 = process.hrtime.bigint();
  await con.run("COPY (SELECT * FROM t) TO " + q(out1) + " (FORMAT parquet, COMPRESSION " + compression + ")");
  let t1 = process.hrtime.bigint();
  const rows = Number((await con.runAndReadAll("SELECT count(*) FROM t")).getRows()[0][0]);
  await con.run("DROP TABLE t");
  const t2 = process.hrtime.bigint();
  await con.run("COPY (" + sel(src) + ") TO " + q(out2) + " (FORMAT parquet, COMPRESSION " + compression + ")");
  const t3 = process.hrtime.bigint();
  console.log(JSON.stringify({version: String(v[0]), threads: Number(v[1]), rows,
    copySeconds: Number(t1 - t0) / 1e9, ndjsonCopySeconds: Number(t3 - t2) / 1e9, copyFile: out1, ndjsonFile: out2}));
})().catch((e) => { console.error(e); process.exit(1); });
`

type duckdbOut struct {
	Version           string  `json:"version"`
	Threads           int     `json:"threads"`
	Rows              uint64  `json:"rows"`
	CopySeconds       float64 `json:"copySeconds"`
	NDJSONCopySeconds float64 `json:"ndjsonCopySeconds"`
	CopyFile          string  `json:"copyFile"`
	NDJSONFile        string  `json:"ndjsonFile"`
}

// ensureDuckDB installs node and npm and the DuckDB package when missing.
func ensureDuckDB(ctx context.Context, nodeDir string, install bool) (string, error) {
	abs, err := filepath.Abs(nodeDir)
	if err != nil {
		return "", err
	}
	mod := filepath.Join(abs, "node_modules", "@duckdb", "node-api")
	if _, err := os.Stat(filepath.Join(mod, "package.json")); err == nil {
		if _, err := exec.LookPath("node"); err == nil {
			return mod, nil
		}
	}
	if !install {
		return "", fmt.Errorf("%s or node missing (drop -install=false to install them)", mod)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		progress("installing nodejs and npm with apt-get")
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "nodejs", "npm")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get install nodejs npm: %w\n%s", err, out)
		}
	}
	progress("installing %s into %s", duckdbPackage, abs)
	os.MkdirAll(abs, 0o755)
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", abs, "--no-audit", "--no-fund", duckdbPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %w\n%s", duckdbPackage, err, out)
	}
	return mod, nil
}

// runDuckDB returns two results: COPY from the loaded table, and
// read_ndjson + COPY end to end.
func runDuckDB(ctx context.Context, mod, dir, ndjson, compression string) ([]Result, error) {
	script := filepath.Join(dir, "duckdb-copy.js")
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		return nil, err
	}
	absDir, _ := filepath.Abs(dir)
	absIn, _ := filepath.Abs(ndjson)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", script, mod, absDir, absIn, compression)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node %s: %w\n%s", script, err, stderr.Bytes())
	}
	var o duckdbOut
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &o); err != nil {
		return nil, fmt.Errorf("DuckDB script printed %q: %w", stdout.Bytes(), err)
	}
	defer os.Remove(o.CopyFile)
	defer os.Remove(o.NDJSONFile)
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss << 10
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	in := size(absIn)
	note := fmt.Sprintf("DuckDB %s, %d threads", o.Version, o.Threads)
	copyRes := Result{Tool: "duckdb-copy", Events: o.Rows, Seconds: o.CopySeconds, OutputBytes: size(o.CopyFile), Files: 1, PeakRSSBytes: peak, Note: note}
	ndRes := Result{Tool: "duckdb-ndjson-copy", Events: o.Rows, Seconds: o.NDJSONCopySeconds, OutputBytes: size(o.NDJSONFile), Files: 1, PeakRSSBytes: peak, Note: note}
	for _, r := range []*Result{&copyRes, &ndRes} {
		r.EventsPerSec = float64(r.Events) / r.Seconds
		r.OutputMBPerS = float64(r.OutputBytes) / 1e6 / r.Seconds
	}
	ndRes.InputMBPerS = float64(in) / 1e6 / ndRes.Seconds
	return []Result{copyRes, ndRes}, nil
}

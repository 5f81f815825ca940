//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/mariadb"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// duckdbPackage is the DuckDB Node.js client the import baseline uses,
// pinned so runs compare.
const duckdbPackage = "@duckdb/node-api@1.5.6-r.1"

// duckdbScript times CREATE TABLE ... AS SELECT * FROM read_ndjson(FILE)
// into a DuckDB database file, then the CHECKPOINT that makes it durable
// in the database file, and prints one JSON line.
const duckdbScript = `
const { DuckDBInstance } = require(process.argv[2]);
(async () => {
  const [,, , dbPath, ndjson] = process.argv;
  const inst = await DuckDBInstance.create(dbPath);
  const con = await inst.connect();
  const v = (await con.runAndReadAll("SELECT version(), current_setting('threads')")).getRows()[0];
  const t0 = process.hrtime.bigint();
  await con.run("CREATE TABLE t AS SELECT * FROM read_ndjson('" + ndjson.replaceAll("'", "''") + "')");
  const t1 = process.hrtime.bigint();
  await con.run("CHECKPOINT");
  const t2 = process.hrtime.bigint();
  const rows = (await con.runAndReadAll("SELECT count(*) FROM t")).getRows()[0][0];
  console.log(JSON.stringify({version: String(v[0]), threads: Number(v[1]), rows: Number(rows),
    createSeconds: Number(t1 - t0) / 1e9, checkpointSeconds: Number(t2 - t1) / 1e9}));
})().catch((e) => { console.error(e); process.exit(1); });
`

type duckdbResult struct {
	Version           string  `json:"version"`
	Threads           int     `json:"threads"`
	Rows              int64   `json:"rows"`
	CreateSeconds     float64 `json:"createSeconds"`
	CheckpointSeconds float64 `json:"checkpointSeconds"`
}

// ensureDuckDB installs node and npm (Debian) and the DuckDB package (npm,
// into nodeDir) when missing, and returns the package's directory.
func ensureDuckDB(ctx context.Context, nodeDir string, install bool) (string, error) {
	abs, err := filepath.Abs(nodeDir)
	if err != nil {
		return "", err
	}
	mod := filepath.Join(abs, "node_modules", "@duckdb", "node-api")
	if _, err := os.Stat(filepath.Join(mod, "package.json")); err == nil && benchproc.LookPath("node") != "" {
		return mod, nil
	}
	if !install {
		return "", fmt.Errorf("%s or node missing (drop -no-install to install them)", mod)
	}
	if benchproc.LookPath("node") == "" || benchproc.LookPath("npm") == "" {
		progress("installing nodejs and npm with apt-get")
		if err := mariadb.AptInstall(ctx, "nodejs", "npm"); err != nil {
			return "", err
		}
	}
	progress("installing %s into %s with npm", duckdbPackage, abs)
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", abs, "--no-audit", "--no-fund", duckdbPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %w\n%s", duckdbPackage, err, out)
	}
	return mod, nil
}

// runDuckDB loads the NDJSON file into a fresh DuckDB database under dir.
// It also returns node's resource usage (its peak RSS).
func runDuckDB(ctx context.Context, mod, dir, ndjson string) (duckdbResult, *syscall.Rusage, error) {
	var res duckdbResult
	script := filepath.Join(dir, "duckdb-load.js")
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		return res, nil, err
	}
	dbPath := filepath.Join(dir, "duckdb.db")
	defer os.Remove(dbPath)
	defer os.Remove(dbPath + ".wal")
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", script, mod, dbPath, ndjson)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return res, nil, fmt.Errorf("node %s: %w\n%s", script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		return res, nil, fmt.Errorf("DuckDB script printed %q: %w", stdout.Bytes(), err)
	}
	return res, rusageOf(cmd), nil
}

//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"

	"github.com/eventsql/eventsql/bench/duckdbnode"
)

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

// runDuckDB loads the NDJSON file into a fresh DuckDB database under dir.
// It also returns node's resource usage (its peak RSS).
func runDuckDB(ctx context.Context, mod, dir, ndjson string) (duckdbResult, *syscall.Rusage, error) {
	var res duckdbResult
	dbPath := filepath.Join(dir, "duckdb.db")
	defer os.Remove(dbPath)
	defer os.Remove(dbPath + ".wal")
	ru, err := duckdbnode.Run(ctx, mod, dir, "duckdb-load.js", duckdbScript, &res, dbPath, ndjson)
	return res, ru, err
}

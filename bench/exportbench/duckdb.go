//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eventsql/eventsql/bench/duckdbnode"
)

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

// runDuckDB returns two results: COPY from the loaded table, and
// read_ndjson + COPY end to end.
func runDuckDB(ctx context.Context, mod, dir, ndjson, compression string) ([]Result, error) {
	absDir, _ := filepath.Abs(dir)
	absIn, _ := filepath.Abs(ndjson)
	var o duckdbOut
	ru, err := duckdbnode.Run(ctx, mod, dir, "duckdb-copy.js", duckdbScript, &o, absDir, absIn, compression)
	if err != nil {
		return nil, err
	}
	defer os.Remove(o.CopyFile)
	defer os.Remove(o.NDJSONFile)
	var peak int64
	if ru != nil {
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

//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventsql/eventsql/bench/duckdbnode"
	"github.com/eventsql/eventsql/export"
)

// duckdbScript loads the NDJSON into a table (untimed), then times, from
// the table:
//
//   - COPY (SELECT ...) TO 'x.parquet' with the columns of eventsql's
//     events dataset (data and metadata as JSON text);
//   - the same work as eventsql's whole export: that events file plus one
//     Parquet file per event type with the JSON fields extracted into
//     typed columns (the columns and types of eventsql's by_type schemas,
//     given to DuckDB, which infers nothing), one COPY per type;
//
// and separately read_ndjson + COPY of the events columns end to end.
// CPU time is the node process's (DuckDB's threads included).
const duckdbScript = `
const { DuckDBInstance } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const [,, , dir, ndjson, compression, typedFile, typedMode] = process.argv;
  const typed = JSON.parse(fs.readFileSync(typedFile, "utf8"));
  const q = (s) => "'" + s.replaceAll("'", "''") + "'";
  const id = (s) => '"' + s.replaceAll('"', '""') + '"';
  const inst = await DuckDBInstance.create(":memory:");
  const con = await inst.connect();
  const v = (await con.runAndReadAll("SELECT version(), current_setting('threads')")).getRows()[0];
  const src = "read_ndjson(" + q(ndjson) + ", columns={stream:'VARCHAR', eventType:'VARCHAR', eventId:'VARCHAR', data:'JSON', metadata:'JSON'})";
  const sel = (from) => "SELECT row_number() OVER () AS position, stream, 0::BIGINT AS version, eventId AS event_id, eventType AS event_type, now()::TIMESTAMPTZ AS created_at, data::VARCHAR AS data, true AS data_is_json, metadata::VARCHAR AS metadata, true AS metadata_is_json FROM " + from;
  await con.run("CREATE TABLE t AS " + sel(src));
  const opts = " (FORMAT parquet, COMPRESSION " + compression + ")";
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const timed = async (f) => { const c0 = cpu(), t0 = process.hrtime.bigint(); await f(); return [Number(process.hrtime.bigint() - t0) / 1e9, cpu() - c0]; };
  const out1 = dir + "/duckdb-copy.parquet", out2 = dir + "/duckdb-ndjson.parquet";
  const [copySeconds, copyCPU] = await timed(() => con.run("COPY (SELECT * FROM t) TO " + q(out1) + opts));
  // Typed columns: the JSON path of a field, then a cast to the column's type.
  const path = (f) => q('$.' + JSON.stringify(f));
  const expr = (c) => {
    const s = "json_extract_string(data, " + path(c.field) + ")";
    switch (c.type) {
      case "BIGINT": return "TRY_CAST(" + s + " AS BIGINT)";
      case "DOUBLE": return "TRY_CAST(" + s + " AS DOUBLE)";
      case "BOOLEAN": return "TRY_CAST(" + s + " AS BOOLEAN)";
      case "TIMESTAMP": return "TRY_CAST(" + s + " AS TIMESTAMPTZ)";
      default: return c.json ? "json_extract(data, " + path(c.field) + ")::VARCHAR" : s;
    }
  };
  // json_transform parses each document once into a struct (the faster
  // way in DuckDB when several fields are wanted).
  const structType = (cols) => "{" + cols.map((c) => JSON.stringify(c.field) + ":" + JSON.stringify(
    {BIGINT: "BIGINT", DOUBLE: "DOUBLE", BOOLEAN: "BOOLEAN", TIMESTAMP: "TIMESTAMPTZ"}[c.type] || (c.json ? "JSON" : "VARCHAR"))).join(",") + "}";
  const typedFiles = [];
  const [typedSeconds, typedCPU] = await timed(async () => {
    for (const tt of typed) {
      const out = dir + "/duckdb-typed-" + typedFiles.length + ".parquet";
      typedFiles.push(out);
      const base = "position, stream, version, event_id, created_at, metadata";
      let query;
      if (typedMode === "transform") {
        const fields = tt.columns.map((c) => (c.json ? "(s." + id(c.field) + ")::VARCHAR" : "s." + id(c.field)) + " AS " + id(c.name)).join(", ");
        query = "SELECT " + base + ", " + fields + " FROM (SELECT *, json_transform(data, " + q(structType(tt.columns)) + ") AS s FROM t WHERE event_type = " + q(tt.eventType) + ")";
      } else {
        query = "SELECT " + base + ", " + tt.columns.map((c) => expr(c) + " AS " + id(c.name)).join(", ") + " FROM t WHERE event_type = " + q(tt.eventType);
      }
      await con.run("COPY (" + query + ") TO " + q(out) + opts);
    }
  });
  const rows = Number((await con.runAndReadAll("SELECT count(*) FROM t")).getRows()[0][0]);
  await con.run("DROP TABLE t");
  const [ndjsonCopySeconds, ndjsonCopyCPU] = await timed(() => con.run("COPY (" + sel(src) + ") TO " + q(out2) + opts));
  console.log(JSON.stringify({version: String(v[0]), threads: Number(v[1]), rows,
    copySeconds, copyCPU, typedSeconds, typedCPU, ndjsonCopySeconds, ndjsonCopyCPU,
    copyFile: out1, ndjsonFile: out2, typedFiles}));
})().catch((e) => { console.error(e); process.exit(1); });
`

type duckdbOut struct {
	Version           string   `json:"version"`
	Threads           int      `json:"threads"`
	Rows              uint64   `json:"rows"`
	CopySeconds       float64  `json:"copySeconds"`
	CopyCPU           float64  `json:"copyCPU"`
	TypedSeconds      float64  `json:"typedSeconds"`
	TypedCPU          float64  `json:"typedCPU"`
	NDJSONCopySeconds float64  `json:"ndjsonCopySeconds"`
	NDJSONCopyCPU     float64  `json:"ndjsonCopyCPU"`
	CopyFile          string   `json:"copyFile"`
	NDJSONFile        string   `json:"ndjsonFile"`
	TypedFiles        []string `json:"typedFiles"`
}

// typedSpec is one by_type dataset for the DuckDB script: its event type
// and typed columns (after the base columns).
type typedSpec struct {
	EventType string        `json:"eventType"`
	Columns   []typedColumn `json:"columns"`
}

type typedColumn struct {
	Name  string `json:"name"`
	Field string `json:"field"`
	Type  string `json:"type"`
	JSON  bool   `json:"json,omitempty"`
}

// typedSpecs reads the by_type schemas (the latest of each dataset) from
// the manifest of eventsql's export in dir.
func typedSpecs(dir string) ([]typedSpec, error) {
	b, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if err != nil {
		return nil, err
	}
	var m export.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var specs []typedSpec
	for name, ds := range m.Datasets {
		if !strings.HasPrefix(name, "by_type/") || len(ds.Schemas) == 0 {
			continue
		}
		sp := typedSpec{EventType: ds.EventType}
		for _, c := range ds.Schemas[len(ds.Schemas)-1] {
			if c.Field != "" {
				sp.Columns = append(sp.Columns, typedColumn{Name: c.Name, Field: c.Field, Type: c.Type, JSON: c.JSON})
			}
		}
		specs = append(specs, sp)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("no by_type datasets in %s", dir)
	}
	return specs, nil
}

// runDuckDB returns three results: COPY of the events columns from the
// loaded table, the same work as eventsql's export (events + typed files
// per type) from the table, and read_ndjson + COPY end to end.
func runDuckDB(ctx context.Context, mod, dir, ndjson, compression string, specs []typedSpec, typedMode string) ([]Result, error) {
	absDir, _ := filepath.Abs(dir)
	absIn, _ := filepath.Abs(ndjson)
	specFile := filepath.Join(absDir, "duckdb-typed.json")
	b, _ := json.Marshal(specs)
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(specFile)
	var o duckdbOut
	ru, err := duckdbnode.Run(ctx, mod, dir, "duckdb-copy.js", duckdbScript, &o, absDir, absIn, compression, specFile, typedMode)
	if err != nil {
		return nil, err
	}
	for _, f := range append([]string{o.CopyFile, o.NDJSONFile}, o.TypedFiles...) {
		defer os.Remove(f)
	}
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
	var typedBytes int64
	for _, f := range o.TypedFiles {
		typedBytes += size(f)
	}
	in := size(absIn)
	note := fmt.Sprintf("DuckDB %s, %d threads", o.Version, o.Threads)
	copyRes := Result{Tool: "duckdb-copy", Events: o.Rows, Seconds: o.CopySeconds, OutputBytes: size(o.CopyFile), Files: 1,
		PeakRSSBytes: peak, CPUSecondsPer: o.CopyCPU, Note: note}
	allRes := Result{Tool: "duckdb-copy-all", Events: o.Rows, Seconds: o.CopySeconds + o.TypedSeconds,
		OutputBytes: size(o.CopyFile) + typedBytes, Files: 1 + len(o.TypedFiles), PeakRSSBytes: peak,
		CPUSecondsPer: o.CopyCPU + o.TypedCPU, Note: note + ", typed columns with " + typedMode}
	ndRes := Result{Tool: "duckdb-ndjson-copy", Events: o.Rows, Seconds: o.NDJSONCopySeconds, OutputBytes: size(o.NDJSONFile), Files: 1,
		PeakRSSBytes: peak, CPUSecondsPer: o.NDJSONCopyCPU, Note: note}
	for _, r := range []*Result{&copyRes, &allRes, &ndRes} {
		r.EventsPerSec = float64(r.Events) / r.Seconds
		r.OutputMBPerS = float64(r.OutputBytes) / 1e6 / r.Seconds
	}
	ndRes.InputMBPerS = float64(in) / 1e6 / ndRes.Seconds
	return []Result{copyRes, allRes, ndRes}, nil
}

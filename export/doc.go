// Package export writes Parquet snapshots of an event store for Hadoop-era
// readers (Spark, Hive, Trino, Impala, DuckDB):
//
//	DIR/events/date=YYYY-MM-DD/part-<from>-<to>.parquet             every event, data as JSON text
//	DIR/by_type/<EventType>/date=YYYY-MM-DD/part-<from>-<to>.parquet typed columns per data field
//	DIR/_manifest.json   positions covered, files, schemas (replaced atomically)
//	DIR/hive.sql         CREATE EXTERNAL TABLE ... + MSCK REPAIR TABLE per dataset
//	DIR/_SUCCESS         written last
//
// # Why it is built this way
//
// Consistency: a run reads the log up to the head it saw at its start
// (one position P) and the manifest says so; later writes go to the next
// run. Runs are incremental: they read only positions after the
// manifest's last one and add files.
//
// Crash safety: files are written under "_tmp-" names (readers skip names
// starting with _ or .), fsynced and renamed into place, their
// directories fsynced, and only then is the manifest replaced (temp,
// fsync, rename, fsync). The manifest is the snapshot: files it does not
// list are leftovers of a run that died, and the next run deletes them.
// A run that fails removes what it wrote; one that is killed leaves the
// previous manifest, which still lists only complete files.
//
// Speed: one goroutine reads and copies the log into batches; writers
// consume each batch in parallel, one for the events dataset and one or
// more (a core each, up to 4) for the by_type datasets, each encoding,
// compressing and writing its own files; the kernel's write-back is
// started as files grow and finished files are synced in the background
// (writeback.go), so the disk never holds the pipeline up. by_type rows go to
// parquet-go column by column (typed.go); compressed pages wait for
// their row group in a run-wide pool of huge-page memory (pagepool.go).
// Memory is bounded by the batches in flight (8 of at most 4 MiB) and by
// the row groups being built (RowGroupBytes per open file, and a shared
// budget across by_type files).
//
// Types: by_type columns use the typeinfer rules (the same as the SQL
// by_type tables). Inference runs as the export writes: a field that is
// new or whose kind widens ends the type's current file and the next one
// has the wider schema. Each file's schema is kept in the manifest; the
// newest (widest) one goes into hive.sql.
//
// Writer settings: data page v1, PLAIN and dictionary encodings only
// (DELTA_* breaks Spark < 3.3 and Hive's vectorized reader), snappy by
// default, INT64 TIMESTAMP(MICROS, UTC) or, on request, INT96 for Hive
// 2/3, event ids as 36-character strings, bounded row groups.
package export

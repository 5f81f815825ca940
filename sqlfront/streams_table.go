package sqlfront

import (
	"io"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/eventsql/eventsql/engine"
)

// streamsTable is eventsql.streams: one row per stream (deleted ones
// included, with deleted set), in name order, read from the stream index.
type streamsTable struct {
	fe     *Front
	db     string
	schema sql.Schema
}

var (
	_ sql.Table           = (*streamsTable)(nil)
	_ sql.PrimaryKeyTable = (*streamsTable)(nil)
	_ sql.CommentedTable  = (*streamsTable)(nil)
	_ sql.InsertableTable = (*streamsTable)(nil)
	_ sql.UpdatableTable  = (*streamsTable)(nil)
	_ sql.DeletableTable  = (*streamsTable)(nil)
	_ sql.StatisticsTable = (*streamsTable)(nil)
)

func newStreamsTable(fe *Front, db string) *streamsTable {
	col := func(name string, t sql.Type, nullable, pk bool, comment string) *sql.Column {
		return &sql.Column{Name: name, Type: t, Nullable: nullable, PrimaryKey: pk, Source: "streams", DatabaseSource: db, Comment: comment}
	}
	return &streamsTable{fe: fe, db: db, schema: sql.Schema{
		col("stream", typeName, false, true, "stream name"),
		col("category", typeName, false, false, "part of the name before the first '-'"),
		col("version", types.Int64, false, false, "version of the last event (-1: none)"),
		col("event_count", types.Int64, false, false, "events reads return (not counting $maxAge)"),
		col("first_position", types.Uint64, true, false, "position of the first event reads return (not counting $maxAge)"),
		col("last_position", types.Uint64, true, false, "position of the last event"),
		col("created_at", typeDatetime, true, false, "time of the first event"),
		col("updated_at", typeDatetime, true, false, "time of the last change"),
		col("max_count", types.Int64, true, false, "$maxCount (NULL: unset)"),
		col("max_age", types.Int64, true, false, "$maxAge in seconds (NULL: unset)"),
		col("deleted", types.MustCreateEnumType([]string{"no", "soft", "hard"}, sql.Collation_Default), false, false, "no, soft or hard"),
	}}
}

func (t *streamsTable) Name() string                   { return "streams" }
func (t *streamsTable) String() string                 { return t.db + ".streams" }
func (t *streamsTable) Schema(*sql.Context) sql.Schema { return t.schema }
func (t *streamsTable) Collation() sql.CollationID     { return sql.Collation_Default }
func (t *streamsTable) Comment() string                { return "one row per stream" }
func (t *streamsTable) PrimaryKeySchema(*sql.Context) sql.PrimaryKeySchema {
	return sql.NewPrimaryKeySchema(t.schema, 0)
}

// RowCount is the number of streams the store has seen (deleted ones
// included), for information_schema.TABLES and the planner. It is not
// marked exact, so COUNT(*) still reads the stream index.
func (t *streamsTable) RowCount(*sql.Context) (uint64, bool, error) {
	return t.fe.store.Stats().Streams, false, nil
}

// DataLength is 0: the stream rows are derived from the index, not stored.
func (t *streamsTable) DataLength(*sql.Context) (uint64, error) { return 0, nil }

func (t *streamsTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(eventsPartition{}), nil
}

func (t *streamsTable) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	it, err := t.fe.store.ListStreams(ctx, engine.ListStreamsOptions{})
	if err != nil {
		return nil, err
	}
	return &streamRows{it: it}, nil
}

func (t *streamsTable) Inserter(*sql.Context) sql.RowInserter {
	return refuse{immutableError("INSERT", t.db, "streams")}
}
func (t *streamsTable) Updater(*sql.Context) sql.RowUpdater {
	return refuse{immutableError("UPDATE", t.db, "streams")}
}
func (t *streamsTable) Deleter(*sql.Context) sql.RowDeleter {
	return refuse{immutableError("DELETE", t.db, "streams")}
}

type streamRows struct{ it *engine.StreamIterator }

// Next closes the engine's iterator (and its read lock on the store)
// once the streams are read or the read fails, before Close: GMS's
// ANALYZE TABLE reads a table's rows to the end and never closes them,
// and left `ANALYZE TABLE streams` holding the lock (the store could no
// longer close).
func (r *streamRows) Next(*sql.Context) (sql.Row, error) {
	if !r.it.Next() {
		err := r.it.Err()
		if cerr := r.it.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	return streamRow(r.it.Stream()), nil
}

// streamRow is the row of eventsql.streams describing in.
func streamRow(in engine.StreamInfo) sql.Row {
	row := sql.Row{in.Name, in.Category, in.Version, in.EventCount, nil, nil, nil, nil, nil, nil, "no"}
	if in.FirstPosition > 0 {
		row[4] = in.FirstPosition
	}
	if in.LastPosition > 0 {
		row[5] = in.LastPosition
	}
	if !in.CreatedAt.IsZero() {
		row[6] = in.CreatedAt
	}
	if !in.UpdatedAt.IsZero() {
		row[7] = in.UpdatedAt
	}
	if in.Metadata.MaxCount > 0 {
		row[8] = in.Metadata.MaxCount
	}
	if in.Metadata.MaxAge > 0 {
		row[9] = int64(in.Metadata.MaxAge / time.Second)
	}
	if in.Deleted != "" {
		row[10] = in.Deleted
	}
	return row
}

func (r *streamRows) Close(*sql.Context) error { return r.it.Close() }

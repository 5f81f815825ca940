// Package server is go-mysql-server's server package (v0.20.1-0.20260423223733-f292357ffe4c,
// Apache License 2.0, see LICENSE), copied so that eventsql can fix how
// results are spooled: upstream converts every row of a result into one
// shared byte buffer that is never reset, so a SELECT of 10M events held
// the whole result in server memory. Here a batch of rows (128) is
// converted into a buffer that is reused once the batch is written to
// the client, and server memory stays bounded by the batches in flight.
//
// Results are streamed by results.go (eventsql's own file): a result of
// up to one batch is read, converted and written on the connection's
// goroutine, with no goroutine or channel per query; a longer one reads
// rows on a second goroutine and hands them over 512 at a time, and the
// converted batch's buffers are reused. Upstream ran five goroutines and
// a channel hand-off per row for every result. Common column types are
// written to the wire without GMS's Type.SQL (wireconv.go).
//
// It also looks up a connection's socket for the disconnect check only
// when a query outlives the first check interval (handler.go), and
// answers unknown columns with ERROR 1054 and syntax errors with ERROR
// 1064 instead of 1105 (errors.go), and sends OK packets without the info
// string that MySQL clients could not parse (handler.go).
//
// Changes are marked "eventsql:". The internal sockstate package is
// copied alongside because Go does not allow importing it.
package server

// cursor_check reads eventsql's events through MariaDB Connector/C with
// a server-side cursor, as C clients and MySQL Connector/J
// (useCursorFetch=true) do: a prepared statement executed with
// CURSOR_TYPE_READ_ONLY, its rows fetched a few at a time
// (COM_STMT_FETCH). It checks that every event comes back, in order, as
// many as COUNT(*) counts, with its stream and created_at, and that a
// second cursor on the same statement works after the first.
//
//	cc -o cursor_check cursor_check.c $(mariadb_config --cflags --libs)
//	./cursor_check HOST PORT USER PASSWORD
//
// Prints one line per failed expectation and exits 1 if there was any.
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void fail(const char *what, const char *detail) {
    printf("Connector/C: %s: %s\n", what, detail ? detail : "");
    failures++;
}

// count_events returns COUNT(*) of eventsql.events, or -1.
static long long count_events(MYSQL *c) {
    if (mysql_query(c, "SELECT COUNT(*) FROM events")) {
        fail("COUNT(*)", mysql_error(c));
        return -1;
    }
    MYSQL_RES *r = mysql_store_result(c);
    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
    long long n = row && row[0] ? atoll(row[0]) : -1;
    if (r) mysql_free_result(r);
    return n;
}

// read_with_cursor executes st (one BIGINT parameter, from) with a
// read-only cursor fetching prefetch rows at a time and returns how many
// rows came back; -1 on an error.
static long long read_with_cursor(MYSQL_STMT *st, long long from, unsigned long prefetch) {
    unsigned long type = CURSOR_TYPE_READ_ONLY;
    if (mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &type) ||
        mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch)) {
        fail("setting the cursor", mysql_stmt_error(st));
        return -1;
    }
    MYSQL_BIND param;
    memset(&param, 0, sizeof param);
    param.buffer_type = MYSQL_TYPE_LONGLONG;
    param.buffer = &from;
    if (mysql_stmt_bind_param(st, &param) || mysql_stmt_execute(st)) {
        fail("execute with a cursor", mysql_stmt_error(st));
        return -1;
    }
    unsigned long long position = 0;
    char stream[256];
    unsigned long stream_len = 0;
    MYSQL_TIME created;
    my_bool created_null = 0;
    MYSQL_BIND out[3];
    memset(out, 0, sizeof out);
    out[0].buffer_type = MYSQL_TYPE_LONGLONG;
    out[0].buffer = &position;
    out[0].is_unsigned = 1;
    out[1].buffer_type = MYSQL_TYPE_STRING;
    out[1].buffer = stream;
    out[1].buffer_length = sizeof stream;
    out[1].length = &stream_len;
    out[2].buffer_type = MYSQL_TYPE_DATETIME;
    out[2].buffer = &created;
    out[2].is_null = &created_null;
    if (mysql_stmt_bind_result(st, out)) {
        fail("binding the result", mysql_stmt_error(st));
        return -1;
    }
    long long n = 0;
    unsigned long long last = (unsigned long long)from;
    int rc;
    while ((rc = mysql_stmt_fetch(st)) == 0) {
        n++;
        char detail[128];
        if (position != last + 1) {
            snprintf(detail, sizeof detail, "position %llu after %llu", position, last);
            fail("rows out of order or missing", detail);
            return -1;
        }
        last = position;
        if (stream_len == 0 || created_null || created.year < 2000) {
            snprintf(detail, sizeof detail, "position %llu: stream length %lu, created_at year %u", position, stream_len, created.year);
            fail("empty values", detail);
            return -1;
        }
    }
    if (rc != MYSQL_NO_DATA) {
        fail("fetch", mysql_stmt_error(st));
        return -1;
    }
    mysql_stmt_free_result(st);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: cursor_check HOST PORT USER PASSWORD\n");
        return 2;
    }
    MYSQL *c = mysql_init(NULL);
    if (!mysql_real_connect(c, argv[1], argv[3], argv[4], "eventsql", (unsigned)atoi(argv[2]), NULL, 0)) {
        fail("connect", mysql_error(c));
        return 1;
    }
    long long total = count_events(c);
    if (total < 200) {
        char detail[128];
        snprintf(detail, sizeof detail, "%lld events, want over 128 (more than one batch)", total);
        fail("test data", detail);
    }
    MYSQL_STMT *st = mysql_stmt_init(c);
    const char *q = "SELECT position, stream, created_at FROM events WHERE position > ?";
    if (mysql_stmt_prepare(st, q, strlen(q))) {
        fail("prepare", mysql_stmt_error(st));
        return 1;
    }
    unsigned long prefetch[] = {7, 1, 1000};
    for (int i = 0; i < 3; i++) {
        long long n = read_with_cursor(st, 0, prefetch[i]);
        if (n != total) {
            char detail[128];
            snprintf(detail, sizeof detail, "%lld rows fetched %lu at a time, COUNT(*) = %lld", n, prefetch[i], total);
            fail("cursor read", detail);
        }
    }
    long long tail = read_with_cursor(st, total - 5, 2);
    if (tail != 5) {
        char detail[128];
        snprintf(detail, sizeof detail, "%lld rows after position %lld, want 5", tail, total - 5);
        fail("cursor read of the last rows", detail);
    }
    mysql_stmt_close(st);
    // The connection still answers plain queries afterwards.
    if (count_events(c) != total) fail("COUNT(*) after the cursors", mysql_error(c));
    mysql_close(c);
    printf("Connector/C: %s\n", failures ? "FAILED" : "server-side cursors returned every row");
    return failures ? 1 : 0;
}

"""Connects to eventsql with PyMySQL and checks what Python users rely on:
parameter binding, Python types of the columns, JSON data, unbuffered
(streamed) cursors and MySQL error codes.

    python3 pymysql_check.py HOST PORT USER PASSWORD

It expects the end-to-end test's data (order-1 with two OrderPlaced events
of amount 10 and 5). Prints one line per failed expectation and exits 1 if
there was any.
"""
import datetime
import json
import sys

import pymysql
import pymysql.cursors

failures = []
checks = 0


def expect(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    con = pymysql.connect(host=host, port=port, user=user, password=password,
                          database="eventsql", charset="utf8mb4")
    with con.cursor() as c:
        c.execute("SELECT VERSION()")
        version = c.fetchone()[0]
        expect("eventsql" in version, f"VERSION() = {version!r}")

        c.execute("SELECT position, stream, version, event_id, created_at, data, amount "
                  "FROM by_type.OrderPlaced WHERE stream = %s ORDER BY position", ("order-1",))
        rows = c.fetchall()
        expect([(r[0], r[6]) for r in rows] == [(1, 10), (2, 5)], f"stream lookup gave {rows!r}")
        if rows:
            position, stream, ver, event_id, created_at, data, amount = rows[0]
            expect(isinstance(position, int) and isinstance(ver, int), f"position/version types {type(position)}, {type(ver)}")
            expect(isinstance(created_at, datetime.datetime), f"created_at is {type(created_at)}")
            expect(isinstance(event_id, str) and len(event_id) == 36, f"event_id {event_id!r}")
            expect(json.loads(data) == {"amount": 10, "sku": "A"}, f"data {data!r}")

        c.execute("SELECT COUNT(*) FROM events")
        count = c.fetchone()[0]

        try:
            c.execute("SELECT nope FROM events")
            failures.append("an unknown column gave no error")
        except pymysql.MySQLError as e:
            expect(e.args[0] == 1054 and "nope" in e.args[1], f"unknown column: {e.args!r}")

    # An unbuffered cursor reads rows as the server sends them.
    with con.cursor(pymysql.cursors.SSCursor) as c:
        c.execute("SELECT position FROM events ORDER BY position")
        positions = [r[0] for r in c]
        expect(count > 0 and len(positions) == count, f"streamed {len(positions)} rows, COUNT(*) = {count}")
        expect(positions == sorted(positions), "positions out of order")

    with con.cursor() as c:
        try:
            c.execute("DELETE FROM events")
            failures.append("DELETE was not refused")
        except pymysql.MySQLError as e:
            expect(e.args[0] in (1036, 1142), f"DELETE refused with {e.args!r}")
    con.close()

    for f in failures:
        print("PyMySQL:", f)
    print(f"PyMySQL: {checks - len(failures)} of {checks} expectations held")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# End-to-end test of the built binary: serve with a fresh data directory,
# probe it over HTTP with curl, stop it with SIGTERM, inspect the data
# directory, and check that configuration precedence (flag > env > file)
# holds. Prints "N passed, N failed".
set -u  # no pipefail: `grep -q` closes pipes early on purpose
BIN=${1:-bin/eventsql}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
work=$(mktemp -d)
pass=0; fail=0
srv=""
cleanup() { [ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ok()   { echo "ok   - $1"; pass=$((pass+1)); }
bad()  { echo "FAIL - $1"; fail=$((fail+1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

start() { # start DIR PORT [extra args...]
  local dir=$1 port=$2; shift 2
  "$BIN" serve --data "$dir" --http "127.0.0.1:$port" --mysql "${MYSQL_ADDR:-127.0.0.1:0}" "$@" >"$work/out.log" 2>"$work/err.log" &
  srv=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && return 0
    kill -0 "$srv" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop() { kill -TERM "$srv"; wait "$srv"; local rc=$?; srv=""; return $rc; }

port=$(free_port)
check "serve starts with a fresh data directory" "start '$work/data' $port"
check "GET /health/live answers 200" "curl -fsS http://127.0.0.1:$port/health/live | grep -q live"
check "GET /health/ready answers 200 with the head" "curl -fsS http://127.0.0.1:$port/health/ready | grep -q '\"head\":0'"
A="-u admin:changeit"
check "POST /streams/cart-1 (JSON array) answers 201 with positions" \
  "curl -fsS $A -H 'Content-Type: application/json' -H 'ES-ExpectedVersion: -1' -d '[{\"eventId\":\"6f1c1c3e-1b1a-4c1a-9a1a-000000000001\",\"eventType\":\"ItemAdded\",\"data\":{\"sku\":\"A\"}}]' http://127.0.0.1:$port/streams/cart-1 | grep -q '\"nextExpectedVersion\":0'"
check "POST with ES-EventType (body is the data) answers 201" \
  "curl -fsS $A -H 'Content-Type: application/json' -H 'ES-EventType: CheckedOut' -H 'ES-ExpectedVersion: 0' -d '{\"total\":3}' http://127.0.0.1:$port/streams/cart-1 | grep -q '\"lastPosition\":2'"
check "a retry with the same event id writes nothing" \
  "curl -fsS $A -H 'Content-Type: application/json' -H 'ES-ExpectedVersion: -1' -d '[{\"eventId\":\"6f1c1c3e-1b1a-4c1a-9a1a-000000000001\",\"eventType\":\"ItemAdded\",\"data\":{\"sku\":\"A\"}}]' http://127.0.0.1:$port/streams/cart-1 | grep -q '\"firstPosition\":1'"
check "a wrong expected version answers 409 with ES-CurrentVersion" \
  "curl -s -D - -o /dev/null $A -H 'Content-Type: application/json' -H 'ES-ExpectedVersion: 7' -d '[{\"eventType\":\"X\",\"data\":{}}]' http://127.0.0.1:$port/streams/cart-1 | grep -qi '^ES-CurrentVersion: 1'"
check "GET /streams/cart-1 returns both events" \
  "curl -fsS $A http://127.0.0.1:$port/streams/cart-1 | grep -q 'CheckedOut'"
check "no credentials answers 401 with WWW-Authenticate" \
  "curl -s -D - -o /dev/null http://127.0.0.1:$port/streams/cart-1 | grep -qi '^WWW-Authenticate: Basic'"
check "GET /health/ready reports the head" "curl -fsS http://127.0.0.1:$port/health/ready | grep -q '\"head\":2'"
check "unknown route answers 404" "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/nope)\" = 404 ]"
check "GET /types/ItemAdded reads the events of a type" \
  "curl -fsS $A http://127.0.0.1:$port/types/ItemAdded | grep -q '^{\"eventType\":\"ItemAdded\",\"direction\":\"forward\",\"events\":\[{\"position\":1,'"
long_poll() { # a long-poll at the head returns the event a background curl appends meanwhile
  ( sleep 0.5; curl -fsS $A -H 'Content-Type: application/json' -d '[{"eventType":"Polled","data":{}}]' \
      "http://127.0.0.1:$port/streams/poll-1" >/dev/null ) &
  local bg=$! rc
  curl -fsS --max-time 20 $A -H 'ES-LongPoll: 15' "http://127.0.0.1:$port/streams/\$all?from=3" | grep -q '"eventType":"Polled"'
  rc=$?; wait $bg; return $rc
}
check "ES-LongPoll at the head answers with an event appended meanwhile" long_poll
check "a bad ES-LongPoll answers 400" \
  "curl -s $A -H 'ES-LongPoll: soon' http://127.0.0.1:$port/streams/cart-1 | grep -q '\"field\":\"longPoll\"'"
sse_pid=""
sse_live() { # curl -N on a category: catch-up, then an event appended while it listens
  curl -sN --max-time 30 $A "http://127.0.0.1:$port/subscribe/categories/cart?from=1" >"$work/sse.out" &
  sse_pid=$!
  for _ in $(seq 1 100); do grep -q '^id: 2$' "$work/sse.out" 2>/dev/null && break; sleep 0.1; done
  curl -fsS $A -H 'Content-Type: application/json' -d '[{"eventType":"LiveOne","data":{}}]' \
    "http://127.0.0.1:$port/streams/cart-2" >/dev/null
  for _ in $(seq 1 100); do grep -q '"eventType":"LiveOne"' "$work/sse.out" && break; sleep 0.1; done
  grep -q '^id: 1$' "$work/sse.out" && grep -q '^event: event$' "$work/sse.out" && grep -q '"eventType":"LiveOne"' "$work/sse.out"
}
check "GET /subscribe/categories/cart (SSE) catches up, then receives a live event" sse_live
check "SSE without credentials answers 401" \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$port/subscribe/\$all')\" = 401 ]"
# Bulk import: POST /import with a good and a bad line, then the CLI.
printf '%s\n%s\n' '{"stream":"imp-1","eventType":"Imported","eventId":"6f1c1c3e-1b1a-4c1a-9a1a-000000000101","data":{"n":1}}' '{"stream":"imp-1","eventType":"Imported","data":' > "$work/one-bad.ndjson"
curl -sS $A -H 'Content-Type: application/x-ndjson' --data-binary @"$work/one-bad.ndjson" http://127.0.0.1:$port/import > "$work/import.json"
check "POST /import writes the good line and rejects the bad one with its line number" \
  "grep -q '\"written\":1' '$work/import.json' && grep -q '\"rejected\":1' '$work/import.json' && grep -q '\"line\":2' '$work/import.json'"
check "POST /import with another content type answers 415" \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $A -H 'Content-Type: text/csv' --data-binary @'$work/one-bad.ndjson' http://127.0.0.1:$port/import)\" = 415 ]"
for i in $(seq 1 50); do printf '{"stream":"cli-%d","eventType":"Imported","eventId":"5e1c1c3e-1b1a-4c1a-9a1a-%012d","data":{"i":%d}}\n' $((i % 5)) $i $i; done > "$work/small.ndjson"
check "eventsql import --server writes a small file" \
  "'$BIN' import --server http://127.0.0.1:$port --password changeit '$work/small.ndjson' | grep -q '50 events written'"
check "eventsql import --server again writes nothing (duplicates)" \
  "'$BIN' import --server http://127.0.0.1:$port '$work/small.ndjson' | grep -q '0 events written, 50 duplicates'"
check "eventsql import exits non-zero on a rejected line" \
  "! '$BIN' import --server http://127.0.0.1:$port '$work/one-bad.ndjson' >/dev/null 2>&1"
check "eventsql import --data into a served store is refused clearly" \
  "'$BIN' import --data '$work/data' '$work/small.ndjson' 2>&1 | grep -q 'stop the server'"
check "SIGTERM stops the server cleanly (exit 0)" "stop"
check "SIGTERM ended the open subscription cleanly" "[ -n '$sse_pid' ] && wait $sse_pid"
check "eventsql import --data into the stopped store" \
  "cat '$work/small.ndjson' | sed 's/5e1c1c3e-1b1a-4c1a-9a1a-/7f1c1c3e-1b1a-4c1a-9a1a-/' | '$BIN' import --data '$work/data' - | grep -q '50 events written'"
check "the imported events are served after a restart" \
  "start '$work/data' $port && curl -fsS $A 'http://127.0.0.1:$port/streams/cli-3?count=100' | grep -o '\"eventType\":\"Imported\"' | wc -l | grep -qx 20; stop"
check "the data directory holds a store" "[ -f '$work/data/STORE' ] && ls '$work/data/log/'*.seg >/dev/null"
check "inspect dumps the data directory" "'$BIN' inspect '$work/data' | grep -q 'segment(s)'"
check "inspect of a non-store fails clearly" "! '$BIN' inspect '$work' 2>&1 | grep -q xyz && '$BIN' inspect '$work' 2>&1 | grep -q 'not an eventsql data directory'"
check "a second server on the same data directory is refused" \
  "start '$work/data' $port && ! '$BIN' serve --data '$work/data' --http 127.0.0.1:0 >/dev/null 2>'$work/err2.log' && grep -q locked '$work/err2.log'; stop"

# Configuration precedence: file < environment < flag.
p1=$(free_port); p2=$(free_port); p3=$(free_port)
printf 'http 127.0.0.1:%s\ndata %s\n' "$p1" "$work/cfgdata" > "$work/eventsql.conf"
check "config file sets the listen address" "start '$work/cfgdata' $p1 --config '$work/eventsql.conf' && stop"
check "EVENTSQL_HTTP overrides the config file" "EVENTSQL_HTTP=127.0.0.1:$p2 start '$work/cfgdata' $p2 --config '$work/eventsql.conf' ; curl -fsS http://127.0.0.1:$p2/health/live >/dev/null && stop"
check "a flag overrides the environment" "EVENTSQL_HTTP=127.0.0.1:$p2 start '$work/cfgdata' $p3 && curl -fsS http://127.0.0.1:$p3/health/live >/dev/null && stop"
check "the default admin password is refused on a non-loopback address" \
  "! '$BIN' serve --data '$work/y' --http 0.0.0.0:0 2>&1 | grep -q xyz && '$BIN' serve --data '$work/y' --http 0.0.0.0:0 2>&1 | grep -q 'default password'"
check "a bad flag value is a clear error" "! '$BIN' serve --data '$work/x' --segment-size 12QB 2>&1 | grep -q xyz && '$BIN' serve --data '$work/x' --segment-size 12QB 2>&1 | grep -q 'is not a size'"
check "version prints the version" "'$BIN' version | grep -q 'eventsql version'"

# Stream metadata, deletes, stats, metrics and configured users.
p4=$(free_port)
H=$(printf 's3cret\n' | "$BIN" hash-password)
printf 'user ann:reader:%s\n' "$H" > "$work/users.conf"
check "hash-password prints a mysql_native_password hash" "echo '$H' | grep -Eq '^\*[0-9A-F]{40}$'"
check "serve with a --user from the config file (hashed password)" "start '$work/opsdata' $p4 --config '$work/users.conf' --admin-password adm"
U="http://127.0.0.1:$p4"
curl -fsS -u admin:adm -H 'Content-Type: application/json' -d '[{"eventType":"E","data":{}},{"eventType":"E","data":{}},{"eventType":"E","data":{}}]' $U/streams/order-1 >/dev/null
check "the configured reader can read" "curl -fsS -u ann:s3cret $U/streams/order-1 | grep -q '\"version\":2'"
check "the configured reader cannot append (403)" "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u ann:s3cret -H 'Content-Type: application/json' -d '[{\"eventType\":\"E\",\"data\":{}}]' $U/streams/order-1)\" = 403 ]"
check "POST /streams/order-1/metadata sets \$maxCount" \
  "curl -fsS -u admin:adm -H 'Content-Type: application/json' -d '{\"\$maxCount\":1,\"owner\":\"ops\"}' $U/streams/order-1/metadata | grep -q '\"owner\":\"ops\"'"
check "GET /streams/order-1/metadata returns it" "curl -fsS -u ann:s3cret $U/streams/order-1/metadata | grep -q '\"\$maxCount\":1'"
check "reads honour \$maxCount at once" "curl -fsS -u ann:s3cret $U/streams/order-1 | grep -q '\"version\":2' && ! curl -fsS -u ann:s3cret $U/streams/order-1 | grep -q '\"version\":1'"
check "bad metadata answers 400 invalid_input" "curl -s -u admin:adm -H 'Content-Type: application/json' -d '{\"\$maxCount\":-1}' $U/streams/order-1/metadata | grep -q invalid_input"
check "DELETE /streams/order-1 answers 204, then reads 404" \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u admin:adm -X DELETE $U/streams/order-1)\" = 204 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -u admin:adm $U/streams/order-1)\" = 404 ]"
check "DELETE with ES-HardDelete: true tombstones (410)" \
  "curl -fsS -u admin:adm -H 'Content-Type: application/json' -d '[{\"eventType\":\"E\",\"data\":{}}]' $U/streams/gone-1 >/dev/null && curl -fsS -u admin:adm -X DELETE -H 'ES-HardDelete: true' $U/streams/gone-1 && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -u admin:adm $U/streams/gone-1)\" = 410 ]"
check "GET /stats reports events and fsync latency" "curl -fsS -u ann:s3cret $U/stats | grep -q '\"events\":4' && curl -fsS -u ann:s3cret $U/stats | grep -q '\"p99Ms\"'"
check "GET /metrics is Prometheus text" "curl -fsS -u ann:s3cret $U/metrics | grep -q '^eventsql_head_position 4'"
check "/stats and /metrics need credentials (401)" \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $U/stats)\" = 401 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' $U/metrics)\" = 401 ]"
check "SIGTERM stops it" "stop"

# SQL over the MySQL protocol, with the mariadb command-line client.
p5=$(free_port); m5=$(free_port)
check "serve with SQL on --mysql" "MYSQL_ADDR=127.0.0.1:$m5 start '$work/sqldata' $p5 --admin-password adm --user 'ann:reader:r-pw'"
curl -fsS -u admin:adm -H 'Content-Type: application/json' \
  -d '[{"eventType":"OrderPlaced","data":{"amount":10,"sku":"A"}},{"eventType":"OrderPlaced","data":{"amount":5,"sku":"B"}}]' \
  http://127.0.0.1:$p5/streams/order-1 >/dev/null
curl -fsS -u admin:adm -H 'Content-Type: application/json' -d '[{"eventType":"PaymentMade","data":{"orderId":"order-1","amount":15.5}}]' \
  http://127.0.0.1:$p5/streams/payment-1 >/dev/null
M="mariadb -h 127.0.0.1 -P $m5 -u ann -pr-pw --batch --skip-column-names"
check "mariadb CLI counts the events" "[ \"\$($M -e 'SELECT COUNT(*) FROM eventsql.events')\" = 3 ]"
check "GROUP BY event_type" "$M -e 'SELECT event_type, COUNT(*) FROM eventsql.events GROUP BY event_type ORDER BY 1' | tr '\t\n' ' ' | grep -q 'OrderPlaced 2 PaymentMade 1'"
check "by_type has typed columns (SUM of amount)" "[ \"\$($M -e 'SELECT SUM(amount) FROM by_type.OrderPlaced')\" = 15 ]"
check "JSON ->> on data" "[ \"\$($M -e \"SELECT data->>'\\$.sku' FROM eventsql.events WHERE position = 2\")\" = B ]"
check "SHOW TABLES FROM by_type lists the event types" "$M -e 'SHOW TABLES FROM by_type' | tr '\n' ' ' | grep -q 'OrderPlaced PaymentMade'"
check "a JOIN of two types" "[ \"\$($M -e 'SELECT p.amount FROM by_type.OrderPlaced o JOIN by_type.PaymentMade p ON p.orderId = o.stream LIMIT 1')\" = 15.5 ]"
check "reads its own writes: an append shows at once" \
  "curl -fsS -u admin:adm -H 'Content-Type: application/json' -d '[{\"eventType\":\"E\",\"data\":{}}]' http://127.0.0.1:$p5/streams/x-1 >/dev/null && [ \"\$($M -e 'SELECT COUNT(*) FROM eventsql.events')\" = 4 ]"
check "a write is refused with ERROR 1036 saying how to append" "mariadb -h 127.0.0.1 -P $m5 -u admin -padm -e 'DELETE FROM eventsql.events' 2>&1 | grep -q 'ERROR 1036.*immutable.*POST /streams'"
check "a reader may not even try to write" "$M -e 'DELETE FROM eventsql.events' 2>&1 | grep -q 'command denied'"
check "a wrong password is ERROR 1045" "mariadb -h 127.0.0.1 -P $m5 -u ann -pnope -e 'SELECT 1' 2>&1 | grep -q 'ERROR 1045'"
check "an unknown table is ERROR 1146 naming it" "$M -e 'SELECT * FROM eventsql.nope' 2>&1 | grep -q 'ERROR 1146.*nope'"
check "an unknown column is ERROR 1054 naming it" "$M -e 'SELECT nope FROM eventsql.events' 2>&1 | grep -q 'ERROR 1054.*nope'"
check "a window function" "$M -e 'SELECT position, ROW_NUMBER() OVER (PARTITION BY stream ORDER BY position DESC) FROM eventsql.events WHERE stream = \"order-1\" ORDER BY position' | tr '\t\n' ' ' | grep -q '^1 2 2 1 \$'"
check "a reader cannot SET GLOBAL" "$M -e 'SET GLOBAL max_connections = 3' 2>&1 | grep -q 'ERROR 1227'"
check "the server reports itself as eventsql (VERSION(), @@version_comment, the CLI's status)" "$M -e 'SELECT VERSION(), @@version_comment' | grep -q 'eventsql.*eventsql' && $M -e status | grep 'Server version' | grep -q eventsql && ! $M -e status | grep -q Dolt"
check "EXPLAIN shows a native aggregate from index counts" "$M -e 'EXPLAIN FORMAT=TREE SELECT event_type, COUNT(*) FROM eventsql.events GROUP BY event_type' | grep -q 'NativeAggregate'"
check "plain EXPLAIN names the index a stream lookup uses" "$M -e \"EXPLAIN SELECT * FROM eventsql.events WHERE stream = 'order-1'\" | awk -F'\t' '{print \$3, \$5, \$7}' | grep -q '^events ref stream\$'"
check "PREPARE and EXECUTE through the mariadb CLI" "[ \"\$($M -e \"PREPARE s FROM 'SELECT SUM(amount) FROM by_type.OrderPlaced WHERE amount > ?'; SET @a = 0; EXECUTE s USING @a; DEALLOCATE PREPARE s\")\" = 15 ]"
check "a syntax error is ERROR 1064" "$M -e 'SELEC 1' 2>&1 | grep -q 'ERROR 1064 (42000)'"
check "a partial INSERT is ERROR 1036 too" "mariadb -h 127.0.0.1 -P $m5 -u admin -padm -e \"INSERT INTO eventsql.events (stream) VALUES ('x')\" 2>&1 | grep -q 'ERROR 1036.*immutable'"
AM="mariadb -h 127.0.0.1 -P $m5 -u admin -padm --batch --skip-column-names"
$AM -e 'SELECT SLEEP(60)' >"$work/sleep.out" 2>&1 &
sleeper=$!
sid=""
for _ in $(seq 1 100); do
  sid=$($AM -e "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP%'")
  [ -n "$sid" ] && break
  sleep 0.1
done
check "a reader sees only their own connections in SHOW PROCESSLIST" "! $M -e 'SHOW PROCESSLIST' | grep -q SLEEP"
check "a reader cannot KILL another user's query (ERROR 1095)" "$M -e 'KILL QUERY $sid' 2>&1 | grep -q 'ERROR 1095'"
check "an admin's KILL QUERY interrupts it (ERROR 1317)" "$AM -e 'KILL QUERY $sid' && wait $sleeper; grep -q 'ERROR 1317' '$work/sleep.out'"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check "PyMySQL: parameters, column types, JSON, a streamed cursor, error codes" \
  "/usr/bin/python3 '$here/clients/pymysql_check.py' 127.0.0.1 $m5 ann r-pw"
check "JDBC (MariaDB Connector/J): metadata, prepared statements both ways, streaming, error codes" \
  "java -cp /usr/share/java/mariadb-java-client.jar '$here/clients/JdbcCheck.java' 127.0.0.1 $m5 ann r-pw"

# Parquet export, read back with DuckDB; totals must match SQL over the same store.
for i in $(seq 1 300); do
  printf '{"stream":"shop-%d","eventType":"%s","data":{"amount":%d,"sku":"S%d"}}\n' $((i % 17)) "$( [ $((i % 3)) = 0 ] && echo OrderPlaced || echo ItemViewed )" "$i" "$i"
done > "$work/more.ndjson"
check "import 300 more events through the server" "'$BIN' import --server http://127.0.0.1:$p5 --password adm '$work/more.ndjson' >/dev/null"
check "Connector/C: a server-side cursor fetches all 304 events a few rows at a time" \
  "cc -o '$work/cursor_check' '$here/clients/cursor_check.c' \$(mariadb_config --cflags --libs) && '$work/cursor_check' 127.0.0.1 $m5 ann r-pw"
check "export --data works while the server holds the store" "'$BIN' export --data '$work/sqldata' --out '$work/pq' | grep -q '304 events (positions 1 to 304)'"
check "the export has _SUCCESS, a manifest and hive.sql" "[ -f '$work/pq/_SUCCESS' ] && grep -q '\"toPosition\": 304' '$work/pq/_manifest.json' && grep -q 'MSCK REPAIR TABLE \`by_type_OrderPlaced\`' '$work/pq/hive.sql'"
NODE_CACHE="${EVENTSQL_NODE_CACHE:-$HOME/.cache/eventsql-e2e}"
cat > "$work/duck.js" <<'JS'
const { DuckDBInstance } = require(process.argv[2]);
(async () => {
  const con = await (await DuckDBInstance.create(":memory:")).connect();
  const rows = (await con.runAndReadAll(process.argv[3])).getRows();
  for (const r of rows) console.log(r.map(String).join("\t"));
})().catch((e) => { console.error(e); process.exit(1); });
JS
duck() { node "$work/duck.js" "$NODE_CACHE/node_modules/@duckdb/node-api" "$1"; }
EV="read_parquet('$work/pq/events/**/*.parquet', hive_partitioning=true)"
check "DuckDB counts the exported events like SQL" "[ \"\$(duck \"SELECT count(*) FROM $EV\")\" = \"\$($M -e 'SELECT COUNT(*) FROM eventsql.events')\" ]"
check "DuckDB GROUP BY event_type matches SQL" \
  "[ \"\$(duck \"SELECT event_type, count(*) FROM $EV GROUP BY 1 ORDER BY 1\")\" = \"\$($M -e 'SELECT event_type, COUNT(*) FROM eventsql.events GROUP BY 1 ORDER BY 1')\" ]"
check "DuckDB sums a typed by_type column like SQL" \
  "[ \"\$(duck \"SELECT sum(amount) FROM read_parquet('$work/pq/by_type/OrderPlaced/**/*.parquet', hive_partitioning=true)\")\" = \"\$($M -e 'SELECT SUM(amount) FROM by_type.OrderPlaced')\" ]"
check "DuckDB sees created_at as a UTC timestamp and the date partition" \
  "[ \"\$(duck \"SELECT count(*) FROM $EV WHERE strftime(created_at, '%Y-%m-%d') = date\")\" = 304 ]"
curl -fsS -u admin:adm -H 'Content-Type: application/json' -d '[{"eventType":"OrderPlaced","data":{"amount":1000}}]' http://127.0.0.1:$p5/streams/order-9 >/dev/null
check "export --server (POST /export) adds only the new event" "'$BIN' export --server http://127.0.0.1:$p5 --password adm --out '$work/pq' | grep -q '1 events (positions 305 to 305)'"
check "DuckDB reads the incremental snapshot like SQL" \
  "[ \"\$(duck \"SELECT sum(amount) FROM read_parquet('$work/pq/by_type/OrderPlaced/**/*.parquet', hive_partitioning=true)\")\" = \"\$($M -e 'SELECT SUM(amount) FROM by_type.OrderPlaced')\" ]"
check "an export into another store's snapshot is refused" "! '$BIN' export --data '$work/opsdata' --out '$work/pq' 2>&1 | grep -q xyz && '$BIN' export --data '$work/opsdata' --out '$work/pq' 2>&1 | grep -q 'holds an export of store'"
check "SIGTERM stops it" "stop"

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

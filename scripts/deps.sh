#!/usr/bin/env bash
# Installs what the test suite needs when it is missing, so `make test`
# passes on a bare Debian machine with Go. Idempotent and quiet when
# everything is there.
set -euo pipefail
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)  # the SQL end-to-end tests
command -v node >/dev/null 2>&1 || need+=(nodejs)              # DuckDB reads the Parquet export
command -v npm >/dev/null 2>&1 || need+=(npm)
# Other MySQL clients analysts use: PyMySQL (Debian's python3) and JDBC
# (MariaDB Connector/J, run by a JDK's java in source-file mode).
/usr/bin/python3 -c 'import pymysql' >/dev/null 2>&1 || need+=(python3-pymysql)
[ -f /usr/share/java/mariadb-java-client.jar ] || need+=(libmariadb-java)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
# A C client (MariaDB Connector/C) reads with a server-side cursor.
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v mariadb_config >/dev/null 2>&1 || need+=(libmariadb-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# DuckDB's Node client, pinned like bench/httpbench and bench/exportbench.
DUCKDB_PKG="@duckdb/node-api@1.5.6-r.1"
NODE_CACHE="${EVENTSQL_NODE_CACHE:-$HOME/.cache/eventsql-e2e}"
if [ ! -f "$NODE_CACHE/node_modules/@duckdb/node-api/package.json" ]; then
  echo "deps: installing $DUCKDB_PKG into $NODE_CACHE"
  mkdir -p "$NODE_CACHE"
  npm install --prefix "$NODE_CACHE" --no-audit --no-fund --silent "$DUCKDB_PKG" >/dev/null
fi
go mod download

#!/usr/bin/env bash
# Installs what the test suite needs when it is missing, so `make test`
# passes on a bare Debian machine with Go. Idempotent and quiet when
# everything is there.
set -euo pipefail
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)  # the SQL end-to-end tests
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
go mod download

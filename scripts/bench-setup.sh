#!/usr/bin/env bash
# Before the benchmarks: Debian's wrk drives the HTTP ones from a process of its own.
set -euo pipefail
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench-setup: installing wrk"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "bench-setup: wrk is missing; install Debian's wrk package (apt-get install wrk) as root" >&2
    exit 1
  fi
fi

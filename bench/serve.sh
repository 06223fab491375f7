#!/usr/bin/env bash
# bench/serve.sh: a kumo serve node with 1,000 apps deployed: requests/s and
# p99 for one of them (wrk), cold-start latency of apps never loaded, and
# the node's memory with 1,000 deployed and 100 warm. See bench/serve/main.go.
#
#   bench/serve.sh [-apps 1000] [-warm 100] [-cold 200] [-d 10s] [-c 32]
#
# Needs wrk (apt-get install -y wrk). Pins the node to CPU 0 and wrk to CPU 1
# when the machine has two CPUs or more and taskset is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/serve.sh needs wrk: apt-get install -y wrk" >&2; exit 2; }
mkdir -p bin
go build -o bin/kumo ./cmd/kumo
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin=(-pin); fi
go run ./bench/serve -kumo bin/kumo "${pin[@]}" "$@"

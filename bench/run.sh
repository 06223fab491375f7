#!/usr/bin/env bash
# bench/run.sh: hello-world and JSON-echo through `kumo serve` (deployed apps,
# the production path), side by side with a raw Go net/http handler doing
# the same work, in one run on this machine.
#
#   bench/run.sh [seconds]      (default 10; needs wrk: apt-get install -y wrk)
#
# The server is pinned to CPU 0 and the load generators to CPU 1 (taskset),
# and the server's CPU time per request is read from /proc/PID/stat around
# each run: on a shared, noisy machine that figure is steadier than
# requests/s. Results are printed as a table, with ratios to raw Go.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${CONNS:-32}
command -v wrk >/dev/null || { echo "bench/run.sh needs wrk: apt-get install -y wrk" >&2; exit 2; }
mkdir -p bin bench/results
go build -o bin/kumo ./cmd/kumo
go build -o bin/rawhttp ./bench/rawhttp
go build -o bin/loadgen ./bench/loadgen
echo '{"user":{"id":42,"name":"kumo","tags":["a","b","c"]},"items":[1,2,3,4,5],"ok":true}' > bench/results/echo.json
cat > bench/results/post.lua <<'LUA'
wrk.method = "POST"
wrk.body = io.open("bench/results/echo.json"):read("*a")
wrk.headers["Content-Type"] = "application/json"
LUA

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # start NAME CMD... ; waits for the port
  local name=$1; shift
  taskset -c 0 "$@" >"bench/results/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
}
wait_up() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT
start raw bin/rawhttp -addr 127.0.0.1:8790
# Two kumo serve nodes, one per HTTP server library, each with the hello
# and echo apps deployed: the production path (routing, node, runtime).
start kumo bin/kumo serve --data "$tmp/fast" --addr 127.0.0.1:8791 --control-addr 127.0.0.1:8781
start kumostd bin/kumo serve --data "$tmp/std" --addr 127.0.0.1:8793 --control-addr 127.0.0.1:8783 --http std
for n in 8781:fast 8783:std; do
  port=${n%%:*} dir=${n##*:}
  for _ in $(seq 100); do [ -s "$tmp/$dir/admin.token" ] && curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
  for a in hello echo; do
    KUMO_SERVER=http://127.0.0.1:$port KUMO_TOKEN=$(cat "$tmp/$dir/admin.token") bin/kumo deploy bench/apps/$a --app $a >/dev/null
  done
done
wait_up http://127.0.0.1:8790/hello; wait_up http://127.0.0.1:8791/hello/; wait_up http://127.0.0.1:8793/hello/
curl -sf -o /dev/null -d @bench/results/echo.json http://127.0.0.1:8791/echo/

hz=$(getconf CLK_TCK)
printf "%-14s %-6s %10s %9s %9s %12s %10s\n" server work "req/s" "p50" "p99" "cpu/req(us)" "p99@half"
declare -A rps cpu
run() { # run LABEL WORK PID URL [post]
  local label=$1 work=$2 pid=$3 url=$4 post=${5:-}
  local args=(-t1 -c"$conns" -d"${secs}s" --latency)
  [ -n "$post" ] && args+=(-s bench/results/post.lua)
  # warm up
  taskset -c 1 wrk -t1 -c"$conns" -d2s ${post:+-s bench/results/post.lua} "$url" >/dev/null
  local t0; t0=$(cpu_ticks "$pid")
  local out; out=$(taskset -c 1 wrk "${args[@]}" "$url")
  local t1; t1=$(cpu_ticks "$pid")
  local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local r; r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local p50; p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  local p99; p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local c; c=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz / n * 1e6}')
  local half; half=$(awk -v r="$r" 'BEGIN {printf "%d", r / 2}')
  local body=""; [ -n "$post" ] && body=$(cat bench/results/echo.json)
  local lg; lg=$(taskset -c 1 bin/loadgen -url "$url" -rate "$half" -d 5s ${post:+-body "$body"} | sed -E 's/.*p99=([0-9.]+ms).*/\1/')
  printf "%-14s %-6s %10s %9s %9s %12s %10s\n" "$label" "$work" "$r" "$p50" "$p99" "$c" "$lg"
  rps[$label/$work]=$r; cpu[$label/$work]=$c
}
run raw-go hello "$pid_raw" http://127.0.0.1:8790/hello
run kumo hello "$pid_kumo" http://127.0.0.1:8791/hello/
run kumo-nethttp hello "$pid_kumostd" http://127.0.0.1:8793/hello/
run raw-go echo "$pid_raw" http://127.0.0.1:8790/echo post
run kumo echo "$pid_kumo" http://127.0.0.1:8791/echo/ post
echo
for w in hello echo; do
  awk -v w="$w" -v kr="${rps[kumo/$w]}" -v rr="${rps[raw-go/$w]}" -v kc="${cpu[kumo/$w]}" -v rc="${cpu[raw-go/$w]}" \
    'BEGIN {printf "%-6s kumo/raw-go: requests/s x%.2f, server CPU per request x%.2f\n", w, kr / rr, kc / rc}'
done

#!/usr/bin/env bash
# bench/queue.sh: queue throughput end to end, in messages/s handled by a
# JavaScript queue handler: sent to JetStream (embedded store, file
# storage), pulled by the node's consumer, run through the handler (which
# reads every body) and acked. A grid over batch size and the batches a
# node runs at once. See BenchmarkQueueThroughput in
# internal/triggers/bench_test.go.
#
#   bench/queue.sh [messages]      (default 20000 per cell)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
go test ./internal/triggers -run '^$' -bench QueueThroughput -benchtime "${n}x" -count 1 |
	grep -E '^(Benchmark|goos|goarch|cpu)'

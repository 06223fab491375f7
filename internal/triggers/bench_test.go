package triggers_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/node"
	"github.com/kumo-dev/kumo/internal/queue"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/testutil"
	"github.com/kumo-dev/kumo/internal/triggers"
)

// BenchmarkQueueThroughput measures queue messages handled end to end per
// second: published to JetStream (embedded store, file storage), pulled by
// the node's consumer, run through a JavaScript queue handler that reads
// every body, and acked. b.N messages are sent while the consumer runs.
//
//	go test ./internal/triggers -run '^$' -bench QueueThroughput -benchtime 20000x
//
// (or bench/queue.sh). Grid: batch (messages per invocation) and
// concurrency (batches in flight on the node).
func BenchmarkQueueThroughput(b *testing.B) {
	for _, batch := range []int{1, 10, 100} {
		for _, conc := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("batch=%d,concurrency=%d", batch, conc), func(b *testing.B) {
				benchQueue(b, batch, conc)
			})
		}
	}
}

const benchWorker = `globalThis.__kumo_main = { default: {
  fetch() { return new Response("ok") },
  queue(batch) {
    let sum = 0;
    for (const m of batch.messages) sum += m.body.n;
    console.log("handled " + batch.messages.length + " " + sum);
  },
} };`

func benchQueue(b *testing.B, batch, conc int) {
	st := testutil.Store(b)
	log := testutil.Logger(b)
	var handled atomic.Int64
	tel, err := node.NewTelemetry(node.TelemetryConfig{Store: st, Logger: log, FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Close(context.Background()) })
	rt, err := runtime.New(runtime.Config{Logger: log, Spares: 1, Recorder: tel, Console: func(l runtime.ConsoleLine) {
		if rest, ok := strings.CutPrefix(l.Message, "handled "); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			handled.Add(int64(n))
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rt.Close)
	trig, err := triggers.New(b.Context(), triggers.Config{Store: st, Logger: log, QueueConcurrency: conc})
	if err != nil {
		b.Fatal(err)
	}
	n, err := node.New(b.Context(), node.Config{Store: st, Runtime: rt, Telemetry: tel, Logger: log, OnActive: trig.SetActive})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(n.Close)
	trig.Start(n)
	b.Cleanup(trig.Close)
	s := &stack{st: st, n: n, trig: trig}
	s.deploy(b, "bench", benchWorker, app.Manifest{
		Limits: app.Limits{Instances: int64(max(conc, 1))},
		Queues: app.Queues{Consumers: []app.QueueConsumer{{Queue: "tasks", Batch: batch}}},
	})
	br := queue.NewBroker(st, log)
	// Warm up: the version loads and the consumer starts.
	if err := br.Send(b.Context(), "bench", "tasks", []binding.QueueMessage{{Body: []byte(`{"n":0}`)}}); err != nil {
		b.Fatal(err)
	}
	testutil.Eventually(b, 10*time.Second, func() bool { return handled.Load() == 1 }, "warm-up message")
	handled.Store(0)

	b.ResetTimer()
	start := time.Now()
	msgs := make([]binding.QueueMessage, 0, queue.MaxBatchLen)
	for i := range b.N {
		msgs = append(msgs, binding.QueueMessage{Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)})
		if len(msgs) == cap(msgs) || i == b.N-1 {
			if err := br.Send(b.Context(), "bench", "tasks", msgs); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	sent := time.Since(start)
	testutil.Eventually(b, 5*time.Minute, func() bool { return handled.Load() >= int64(b.N) }, "all handled")
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/sent.Seconds(), "sent/s")
	b.ReportMetric(0, "ns/op")
}

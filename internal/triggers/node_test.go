package triggers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/node"
	"github.com/kumo-dev/kumo/internal/queue"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
	"github.com/kumo-dev/kumo/internal/triggers"
)

// console collects the apps' console lines.
type console struct {
	mu    sync.Mutex
	lines []string
}

func (c *console) add(l runtime.ConsoleLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l.Message)
}

func (c *console) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.lines, s)
}

func (c *console) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// stack is a node wired as kumo serve wires it, with a trigger manager.
type stack struct {
	st   *store.Store
	n    *node.Node
	trig *triggers.Manager
	con  *console
}

func startStack(t *testing.T) *stack {
	t.Helper()
	st := testutil.Store(t)
	log := testutil.Logger(t)
	con := &console{}
	tel, err := node.NewTelemetry(node.TelemetryConfig{Store: st, Logger: log, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Close(context.Background()) })
	rt, err := runtime.New(runtime.Config{Logger: log, Spares: 1, Recorder: tel, Console: con.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	trig, err := triggers.New(t.Context(), triggers.Config{Store: st, Logger: log, CronMinute: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(t.Context(), node.Config{Store: st, Runtime: rt, Telemetry: tel, Logger: log, OnActive: trig.SetActive})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	trig.Start(n)
	t.Cleanup(trig.Close)
	return &stack{st: st, n: n, trig: trig, con: con}
}

// deploy stores a version with manifest m and makes it the app's only
// active version, as the control plane does.
func (s *stack) deploy(t testing.TB, appName, code string, m app.Manifest) string {
	t.Helper()
	ctx := context.Background()
	data, id, err := app.EncodeContent(app.Content{Code: code, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.PutBlob(ctx, id, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(app.VersionRecord{ID: id, App: appName, Created: time.Now(), Size: int64(len(data)), Blob: id})
	if _, err := s.st.Put(ctx, app.VersionKey(appName, id), rec); err != nil {
		t.Fatal(err)
	}
	arec, _ := json.Marshal(app.AppRecord{Name: appName, Active: []app.Split{{Version: id, Percent: 100}}, Created: time.Now()})
	if _, err := s.st.Put(ctx, app.AppKey(appName), arec); err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *stack) send(t *testing.T, appName, q string, bodies ...string) {
	t.Helper()
	var msgs []binding.QueueMessage
	for _, b := range bodies {
		msgs = append(msgs, binding.QueueMessage{Body: []byte(b)})
	}
	if err := queue.NewBroker(s.st, nil).Send(t.Context(), appName, q, msgs); err != nil {
		t.Fatal(err)
	}
}

const workerV1 = `globalThis.__kumo_main = { default: {
  fetch() { return new Response("ok") },
  async queue(batch, env) {
    for (const m of batch.messages) {
      if (m.body.n === 2 && m.attempts === 1) { m.retry(); continue; }
      if (m.body.relay) await env.OUT.send({ n: m.body.n * 10 });
      console.log("v1 " + batch.queue + " " + m.body.n + " " + m.attempts);
    }
  },
  scheduled(controller) { console.log("cron " + controller.cron + " " + (typeof controller.scheduledTime)); },
} };`

const workerV2 = `globalThis.__kumo_main = { default: {
  fetch() { return new Response("ok") },
  queue(batch) { for (const m of batch.messages) console.log("v2 " + batch.queue + " " + m.body.n); },
} };`

var manifestV1 = app.Manifest{
	Queues: app.Queues{
		Producers: []app.QueueProducer{{Binding: "OUT", Queue: "out"}},
		Consumers: []app.QueueConsumer{{Queue: "tasks", MaxRetries: 2}, {Queue: "out"}},
	},
	Crons: []string{"* * * * *"},
}

func TestQueuesAndCronsFollowTheActiveVersion(t *testing.T) {
	s := startStack(t)
	s.deploy(t, "shop", workerV1, manifestV1)
	s.send(t, "shop", "tasks", `{"n":1}`, `{"n":2}`, `{"n":3,"relay":true}`)
	testutil.Eventually(t, 10*time.Second, func() bool {
		return s.con.has("v1 tasks 1 1") && s.con.has("v1 tasks 2 2") && s.con.has("v1 tasks 3 1") && s.con.has("v1 out 30 1")
	}, "queue handled by v1: %q", s.con.lines)
	testutil.Eventually(t, 10*time.Second, func() bool { return s.con.has("cron * * * * * number") }, "cron tick")

	// Manual triggers run on the active version.
	if _, runs, err := s.trig.RunCron(t.Context(), "shop", ""); err != nil || len(runs) != 1 || runs[0].Error != nil {
		t.Fatalf("RunCron: %+v %v", runs, err)
	}
	run, err := s.trig.RunQueue(t.Context(), "shop", "tasks", []byte(`{"n":2}`), "json")
	if err != nil || run.Error != nil || triggers.FormatDecision(run.Decision) != "retry" {
		t.Fatalf("RunQueue: %+v %v", run, err)
	}
	if _, err := s.trig.RunQueue(t.Context(), "shop", "tasks", []byte(`{bad`), "json"); err == nil {
		t.Fatal("RunQueue took bad JSON")
	}

	// A new version without crons and with another handler takes over.
	v2 := s.deploy(t, "shop", workerV2, app.Manifest{Queues: app.Queues{Consumers: []app.QueueConsumer{{Queue: "tasks"}}}})
	testutil.Eventually(t, 10*time.Second, func() bool {
		id, _, err := triggers.ActiveManifest(t.Context(), s.st, "shop")
		return err == nil && id == v2
	}, "v2 active")
	time.Sleep(200 * time.Millisecond) // the manager applies the change
	ticks := s.con.count("cron ")
	s.send(t, "shop", "tasks", `{"n":4}`)
	testutil.Eventually(t, 10*time.Second, func() bool { return s.con.has("v2 tasks 4") }, "queue handled by v2")
	time.Sleep(2500 * time.Millisecond)
	if n := s.con.count("cron "); n > ticks+1 {
		t.Errorf("cron still firing after v2 dropped it: %d -> %d", ticks, n)
	}
	if _, _, err := s.trig.RunCron(t.Context(), "shop", ""); err == nil || !strings.Contains(err.Error(), "has no crons") {
		t.Errorf("RunCron on v2: %v", err)
	}
}

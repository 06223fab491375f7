package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/testutil"
)

// collector is an HTTP server the apps under test report to with fetch:
// each request's path and query is recorded; /hang holds the request until
// the collector closes.
type collector struct {
	url    string
	mu     sync.Mutex
	events []string
	hang   chan struct{}
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{hang: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			c.add("hang")
			select {
			case <-c.hang:
			case <-r.Context().Done():
			}
			return
		}
		c.add(strings.TrimPrefix(r.URL.Path, "/") + "?" + r.URL.RawQuery)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		close(c.hang)
		srv.Close()
	})
	c.url = "http://" + ln.Addr().String()
	return c
}

func (c *collector) add(e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

// with returns the events that start with prefix.
func (c *collector) with(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		if strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// joinCluster starts another `kumo serve` on the same NATS server as
// first, with first's secrets key (every node of a cluster needs it).
func joinCluster(t *testing.T, first *server, extra ...string) *server {
	t.Helper()
	data := t.TempDir()
	key, err := os.ReadFile(filepath.Join(first.data, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "secrets.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, data, extra...)
}

// writeApp writes an app folder with kumo.yaml and index.js.
func writeApp(t *testing.T, yaml, js string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"kumo.yaml": yaml, "index.js": js} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// jobsApp sends ?n= to its queue on fetch; its queue handler reports each
// delivery to the collector, hangs on the first attempt, and acks on the
// next.
const jobsApp = `export default {
  async fetch(request, env) {
    await env.TASKS.send({ n: new URL(request.url).searchParams.get("n") });
    return new Response("sent");
  },
  async queue(batch, env) {
    for (const m of batch.messages) {
      const q = "id=" + m.id + "&attempt=" + m.attempts + "&n=" + m.body.n;
      await fetch(env.COLLECTOR + "/start?" + q);
      if (m.attempts === 1) await fetch(env.COLLECTOR + "/hang");
      await fetch(env.COLLECTOR + "/done?" + q);
      m.ack();
    }
  },
};
`

// TestQueueRedeliveryAfterNodeStops is the photo pipeline's guarantee: a
// task left unfinished by a node that stopped mid-task (killed) is
// delivered again after the ack timeout, to another node, and acked once.
func TestQueueRedeliveryAfterNodeStops(t *testing.T) {
	needBinary(t)
	natsURL, _ := testutil.NATSServer(t)
	col := newCollector(t)
	dir := writeApp(t, `name: jobs
main: index.js
vars: { COLLECTOR: "`+col.url+`" }
queues:
  producers: [ { binding: TASKS, queue: tasks } ]
  consumers: [ { queue: tasks, batch: 1, ack_timeout: 4s, max_retries: 3 } ]
`, jobsApp)

	a := startServer(t, "", "--nats", natsURL, "--allow-private-net")
	env := []string{"KUMO_SERVER=" + a.controlURL(), "KUMO_TOKEN=" + a.token()}
	kumo(t, env, "deploy", dir)
	waitBody(t, a.url("/jobs/send?n=7"), "sent")

	// Node A takes the message and hangs in the middle of it.
	testutil.Eventually(t, 15*time.Second, func() bool { return len(col.with("start?")) == 1 && len(col.with("hang")) == 1 },
		"first delivery started")
	first := col.with("start?")[0]
	if !strings.Contains(first, "attempt=1&n=7") {
		t.Fatalf("first delivery %q", first)
	}

	// A dies without settling the message (killed before its handler's
	// deadline, so it cannot put the message back); a second node runs.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	b := joinCluster(t, a, "--nats", natsURL, "--allow-private-net")

	// After the ack timeout, B gets it (attempt 2) and acks it.
	testutil.Eventually(t, 20*time.Second, func() bool { return len(col.with("done?")) == 1 }, "redelivered and done")
	done := col.with("done?")[0]
	id := strings.TrimPrefix(strings.Split(first, "&")[0], "start?")
	if !strings.Contains(done, id) || !strings.Contains(done, "attempt=2&n=7") {
		t.Fatalf("done %q, want %s attempt 2", done, id)
	}
	// Acked once: nothing left, and no further delivery after another ack
	// timeout.
	envB := []string{"KUMO_SERVER=" + b.controlURL(), "KUMO_TOKEN=" + b.token()}
	time.Sleep(5 * time.Second)
	if n := len(col.with("start?")); n != 2 {
		t.Fatalf("%d deliveries, want 2: %q", n, col.with(""))
	}
	out := kumo(t, envB, "queue", "stats", "jobs", "tasks")
	for _, want := range []string{"ready              0", "in flight          0", "dead letters       0", "delivered          2"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("kumo queue stats: want %q in\n%s", want, out)
		}
	}
}

// tickApp reports each cron tick's scheduledTime and cron to the collector.
const tickApp = `export default {
  async fetch() { return new Response("ok"); },
  async scheduled(controller, env, ctx) {
    await fetch(env.COLLECTOR + "/tick?t=" + controller.scheduledTime + "&cron=" + encodeURIComponent(controller.cron));
  },
};
`

// TestCronOncePerTickAcrossNodes runs two nodes sharing one NATS server,
// with a cron minute of one second: every tick runs once, not twice.
func TestCronOncePerTickAcrossNodes(t *testing.T) {
	needBinary(t)
	natsURL, _ := testutil.NATSServer(t)
	col := newCollector(t)
	dir := writeApp(t, `name: ticker
main: index.js
vars: { COLLECTOR: "`+col.url+`" }
crons: [ "* * * * *" ]
`, tickApp)
	a := startServer(t, "", "--nats", natsURL, "--allow-private-net", "--cron-minute", "1s")
	b := joinCluster(t, a, "--nats", natsURL, "--allow-private-net", "--cron-minute", "1s")
	env := []string{"KUMO_SERVER=" + a.controlURL(), "KUMO_TOKEN=" + a.token()}
	kumo(t, env, "deploy", dir)
	testutil.Eventually(t, 30*time.Second, func() bool { return len(col.with("tick?")) >= 5 }, "5 ticks")
	_ = b
	ticks := col.with("tick?")
	seen := map[string]int{}
	for _, e := range ticks {
		seen[e]++
		if !strings.Contains(e, "cron=*%20*%20*%20*%20*") {
			t.Errorf("tick %q lacks the cron", e)
		}
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("tick %q ran %d times", e, n)
		}
	}
	// Ticks are a scaled minute (1s) apart.
	var times []int64
	for e := range seen {
		var ms int64
		fmt.Sscanf(strings.TrimPrefix(e, "tick?t="), "%d", &ms)
		times = append(times, ms)
	}
	slices.Sort(times)
	for i := 1; i < len(times); i++ {
		if d := times[i] - times[i-1]; d < 900 || d > 2100 {
			t.Errorf("ticks %d ms apart: %v", d, times)
		}
	}
}

// opsApp fails messages whose body says so and records the rest; its
// scheduled handler reports to the collector.
const opsApp = `export default {
  async fetch() { return new Response("ok"); },
  async queue(batch, env) {
    for (const m of batch.messages) {
      if (m.body && m.body.fail) throw new Error("refusing " + m.id);
      await fetch(env.COLLECTOR + "/handled?body=" + encodeURIComponent(JSON.stringify(m.body)));
    }
  },
  async scheduled(controller, env) {
    await fetch(env.COLLECTOR + "/cron?cron=" + encodeURIComponent(controller.cron));
  },
};
`

// TestQueueAndTriggerCLI drives the operator commands: trigger cron and
// queue by hand, dead letters after max retries, stats, dlq, requeue.
func TestQueueAndTriggerCLI(t *testing.T) {
	needBinary(t)
	col := newCollector(t)
	dir := writeApp(t, `name: ops
main: index.js
vars: { COLLECTOR: "`+col.url+`" }
queues:
  producers: [ { binding: TASKS, queue: tasks } ]
  consumers: [ { queue: tasks, max_retries: 1, dead_letter: tasks-dlq } ]
crons: [ "0 3 * * *" ]
`, opsApp)
	s := startServer(t, "", "--allow-private-net")
	env := []string{"KUMO_SERVER=" + s.controlURL(), "KUMO_TOKEN=" + s.token()}
	kumo(t, env, "deploy", dir)

	// kumo trigger cron: runs now, although the cron is due at 03:00.
	out := kumo(t, env, "trigger", "cron", "ops")
	if !strings.Contains(out, `cron "0 3 * * *"`) || !strings.Contains(out, "ok") {
		t.Errorf("trigger cron:\n%s", out)
	}
	if got := col.with("cron?"); len(got) != 1 || got[0] != "cron?cron=0%203%20*%20*%20*" {
		t.Errorf("cron runs %q", got)
	}
	if out, err := kumoErr(env, "trigger", "cron", "ops", "* * * * *"); err == nil || !strings.Contains(out, "has no cron") {
		t.Errorf("unknown cron: %v\n%s", err, out)
	}

	// kumo trigger queue: the handler runs here, its decision is printed.
	out = kumo(t, env, "trigger", "queue", "ops", "tasks", "--body", `{"hello":1}`)
	if !strings.Contains(out, "ack") || len(col.with(`handled?body=%7B%22hello%22%3A1%7D`)) != 1 {
		t.Errorf("trigger queue:\n%s\nevents %q", out, col.with(""))
	}
	out, err := kumoErr(env, "trigger", "queue", "ops", "tasks", "--body", `{"fail":true}`)
	if err == nil || !strings.Contains(out, "retry") || !strings.Contains(out, "refusing") {
		t.Errorf("trigger queue with a throwing handler: %v\n%s", err, out)
	}

	// --send goes through the queue: a poison message is retried once and
	// dead-lettered; a good one is handled.
	kumo(t, env, "trigger", "queue", "ops", "tasks", "--send", "--body", `{"fail":true}`)
	kumo(t, env, "trigger", "queue", "ops", "tasks", "--send", "--content-type", "text", "--body", "plain")
	testutil.Eventually(t, 20*time.Second, func() bool {
		out := kumo(t, env, "queue", "stats", "ops", "tasks")
		return strings.Contains(strings.Join(strings.Fields(out), " "), "dead letters 1")
	}, "a dead letter")
	testutil.Eventually(t, 10*time.Second, func() bool { return len(col.with(`handled?body=%22plain%22`)) == 1 }, "the text message")
	out = kumo(t, env, "queue", "stats", "ops", "tasks")
	if !strings.Contains(out, "tasks-dlq") || !strings.Contains(out, "active version") {
		t.Errorf("stats:\n%s", out)
	}
	out = kumo(t, env, "queue", "dlq", "ops", "tasks")
	if !strings.Contains(out, "refusing") || !strings.Contains(out, `{"fail":true}`) || !strings.Contains(out, "tasks-dlq") {
		t.Errorf("dlq:\n%s", out)
	}
	out = kumo(t, env, "queue", "dlq", "ops", "tasks", "--requeue")
	if !strings.Contains(out, "requeued 1 message") {
		t.Errorf("requeue:\n%s", out)
	}
	// Back on the queue, it fails again and returns to the dead letters.
	testutil.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(kumo(t, env, "queue", "dlq", "ops", "tasks"), "refusing")
	}, "dead again after requeue")

	if out, err := kumoErr(env, "queue", "stats", "ops", "nope"); err == nil || !strings.Contains(out, `declares no queue "nope"`) {
		t.Errorf("unknown queue: %v\n%s", err, out)
	}
}

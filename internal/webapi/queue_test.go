package webapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
)

// fakeQueue records what a producer binding sends.
type fakeQueue struct {
	mu    sync.Mutex
	sent  [][]binding.QueueMessage
	fails error
}

func (q *fakeQueue) Send(_ context.Context, msgs []binding.QueueMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fails != nil {
		return q.fails
	}
	q.sent = append(q.sent, msgs)
	return nil
}

// queueVM is a VM whose fetch handler runs js with env.TASKS bound to q.
func queueVM(t *testing.T, q *fakeQueue, js string) *dispatchVM {
	d := newDispatchVM(t, moduleBundle(js))
	d.host.Bindings = &binding.Set{Queues: map[string]binding.Queue{"TASKS": q}}
	d.setEnv(t, `({ TASKS: { kind: "queue" } })`)
	return d
}

func TestQueueSend(t *testing.T) {
	q := &fakeQueue{}
	d := queueVM(t, q, `
		await env.TASKS.send({ a: [1, "x"] });
		await env.TASKS.send("plain", { contentType: "text", delaySeconds: 2.7 });
		await env.TASKS.send(new Uint8Array([1, 2, 3]), { contentType: "bytes" });
		await env.TASKS.sendBatch([{ body: 1 }, { body: "t", contentType: "text", delaySeconds: 5 }], { delaySeconds: 9 });
		await env.TASKS.sendBatch([]);
		return new Response(String(env.TASKS) + " " + Object.prototype.toString.call(env.TASKS));`)
	s := d.mustServe("GET", "http://h.test/", "", nil)
	if s.body.String() != "[object Queue] [object Queue]" {
		t.Errorf("body %q", s.body.String())
	}
	type m struct {
		body, ct string
		delay    time.Duration
	}
	var got []m
	for _, batch := range q.sent {
		for _, x := range batch {
			got = append(got, m{string(x.Body), x.ContentType, x.Delay})
		}
	}
	want := []m{
		{`{"a":[1,"x"]}`, "json", 0},
		{"plain", "text", 2 * time.Second},
		{"\x01\x02\x03", "bytes", 0},
		{"1", "json", 9 * time.Second},
		{"t", "text", 5 * time.Second},
	}
	if len(q.sent) != 4 || len(got) != len(want) {
		t.Fatalf("sent %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %+v want %+v", i, got[i], want[i])
		}
	}
}

func TestQueueSendErrors(t *testing.T) {
	cases := []struct{ js, want string }{
		{`env.TASKS.send()`, "TypeError: Failed to execute 'send' on 'Queue': 1 argument required"},
		{`env.TASKS.send(1, { contentType: "v8" })`, `TypeError: Failed to execute 'send' on 'Queue': contentType "v8" is not supported`},
		{`env.TASKS.send(1, { contentType: "xml" })`, `TypeError: Failed to execute 'send' on 'Queue': contentType "xml" is not one of`},
		{`env.TASKS.send(1, { contentType: "text" })`, `TypeError: Failed to execute 'send' on 'Queue': a "text" body must be a string`},
		{`env.TASKS.send("s", { contentType: "bytes" })`, `TypeError: Failed to execute 'send' on 'Queue': a "bytes" body must be`},
		{`env.TASKS.send(undefined)`, `TypeError: Failed to execute 'send' on 'Queue': the body cannot be serialised as JSON`},
		{`env.TASKS.send(1n)`, `TypeError: Failed to execute 'send' on 'Queue': the body cannot be serialised as JSON`},
		{`env.TASKS.send(1, { delaySeconds: -1 })`, `RangeError: Failed to execute 'send' on 'Queue': delaySeconds must be`},
		{`env.TASKS.send(1, { delaySeconds: 43201 })`, `RangeError: Failed to execute 'send' on 'Queue': delaySeconds must be`},
		{`env.TASKS.send("x".repeat(131073), { contentType: "text" })`, `RangeError: Queue.send: message body of 131073 bytes is over the limit`},
		{`env.TASKS.sendBatch(Array.from({ length: 101 }, () => ({ body: 1 })))`, `RangeError: Queue.sendBatch: 101 messages in one batch`},
		{`env.TASKS.sendBatch(5)`, `TypeError: Failed to execute 'sendBatch' on 'Queue': messages can not be converted to a sequence`},
		{`env.TASKS.sendBatch([{ body: 1 }, { body: 2, contentType: "text" }])`, `TypeError: Failed to execute 'sendBatch' on 'Queue': messages[1]: a "text" body must be a string`},
	}
	for _, c := range cases {
		t.Run(c.js, func(t *testing.T) {
			q := &fakeQueue{}
			d := queueVM(t, q, `try { await `+c.js+`; return new Response("sent") } catch (e) { return new Response(e.name + ": " + e.message) }`)
			s := d.mustServe("GET", "http://h.test/", "", nil)
			if !strings.HasPrefix(s.body.String(), c.want) {
				t.Fatalf("got %q\nwant %q...", s.body.String(), c.want)
			}
			if len(q.sent) != 0 {
				t.Fatalf("sent %v", q.sent)
			}
		})
	}
}

func TestQueueSendStoreFailureRejects(t *testing.T) {
	q := &fakeQueue{fails: errors.New("store unreachable")}
	d := queueVM(t, q, `try { await env.TASKS.send(1); return new Response("sent") } catch (e) { return new Response(e.name + ": " + e.message) }`)
	if s := d.mustServe("GET", "http://h.test/", "", nil); s.body.String() != "Error: Queue.send: store unreachable" {
		t.Fatalf("got %q", s.body.String())
	}
}

// runQueue calls entry.queue with three messages (json, text, bytes) and
// returns the decisions and error it resolves with.
func runQueue(t *testing.T, handler string) ([]float64, *string, []string) {
	t.Helper()
	d := newDispatchVM(t, `globalThis.__kumo_main = { default: { async queue(batch, env, ctx) {`+handler+"\n} } };")
	if d.kinds != "queue" {
		t.Fatalf("kinds %q", d.kinds)
	}
	meta := `[{"id":"m0","ts":1700000000000,"attempts":1,"ct":"json"},` +
		`{"id":"m1","ts":1700000001000,"attempts":2,"ct":"text"},{"id":"m2","ts":1700000002000,"attempts":3,"ct":"bytes"}]`
	p, err := d.call("queue", "tasks", meta, []any{`{"n":1}`, "hello", []byte{7, 8}}, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.await(p, nil)
	if err != nil {
		t.Fatalf("entry.queue rejected: %v", err)
	}
	var r struct {
		D []float64 `json:"d"`
		E *string   `json:"e"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("result %q: %v", out, err)
	}
	return r.D, r.E, *d.logs
}

const (
	decAck   = -2
	decRetry = -1
)

func TestQueueHandlerBatch(t *testing.T) {
	d, e, logs := runQueue(t, `
		const [a, b, c] = batch.messages;
		console.log(batch.queue, batch.messages.length, Object.isFrozen(batch.messages));
		console.log(a.id, a.body.n, a.attempts, a.timestamp instanceof Date, a.timestamp.getTime());
		console.log(b.id, b.body, b.attempts);
		console.log(c.id, c.body instanceof ArrayBuffer, new Uint8Array(c.body).join(), c.attempts);
		console.log(Object.prototype.toString.call(batch), Object.prototype.toString.call(a));
		a.ack();
		a.retry(); // the first decision stands
		b.retry({ delaySeconds: 5 });
		// c: undecided, acked because the handler resolves`)
	if e != nil {
		t.Fatalf("error %q", *e)
	}
	if len(d) != 3 || d[0] != decAck || d[1] != 5 || d[2] != decAck {
		t.Fatalf("decisions %v", d)
	}
	want := []string{
		"log: tasks 3 true",
		"log: m0 1 1 true 1700000000000",
		"log: m1 hello 2",
		"log: m2 true 7,8 3",
		"log: [object MessageBatch] [object Message]",
	}
	if strings.Join(logs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logs\n%s\nwant\n%s", strings.Join(logs, "\n"), strings.Join(want, "\n"))
	}
}

func TestQueueHandlerThrowRetriesUndecided(t *testing.T) {
	d, e, logs := runQueue(t, `
		batch.messages[0].ack();
		batch.messages[1].retry({ delaySeconds: 7 });
		throw new Error("boom");`)
	if e == nil || *e != "Error: boom" {
		t.Fatalf("error %v", e)
	}
	if len(d) != 3 || d[0] != decAck || d[1] != 7 || d[2] != decRetry {
		t.Fatalf("decisions %v", d)
	}
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "error: Uncaught (in queue) Error: boom") {
		t.Fatalf("logs %q", logs)
	}
}

func TestQueueHandlerRetryAllAndAckAll(t *testing.T) {
	d, e, _ := runQueue(t, `
		batch.messages[0].ack();
		batch.retryAll({ delaySeconds: 3 });
		batch.ackAll(); // the first batch-wide decision stands`)
	if e != nil || d[0] != decAck || d[1] != 3 || d[2] != 3 {
		t.Fatalf("retryAll: %v %v", d, e)
	}
	d, e, _ = runQueue(t, `
		batch.messages[2].retry();
		batch.ackAll();
		throw new TypeError("late");`)
	if e == nil || *e != "TypeError: late" || d[0] != decAck || d[1] != decAck || d[2] != decRetry {
		t.Fatalf("ackAll then throw: %v %v", d, e)
	}
	d, _, _ = runQueue(t, `batch.retryAll();`)
	if d[0] != decRetry || d[1] != decRetry || d[2] != decRetry {
		t.Fatalf("retryAll(): %v", d)
	}
}

func TestQueueHandlerBadJSONBodyFailsItsReader(t *testing.T) {
	dv := newDispatchVM(t, `globalThis.__kumo_main = { default: { async queue(batch) { batch.messages[0].ack(); return batch.messages[1].body } } };`)
	meta := `[{"id":"a","ts":0,"attempts":1,"ct":"json"},{"id":"b","ts":0,"attempts":1,"ct":"json"}]`
	p, err := dv.call("queue", "tasks", meta, []any{"not read", "{bad"}, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := dv.await(p, nil)
	if err != nil || !strings.Contains(out, `"d":[-2,-1]`) || !strings.Contains(out, "SyntaxError") {
		t.Fatalf("out %q err %v", out, err)
	}
}

func TestQueueHandlerMissing(t *testing.T) {
	dv := newDispatchVM(t, moduleBundle(`return new Response("x")`))
	p, err := dv.call("queue", "tasks", `[{"id":"a","ts":0,"attempts":1,"ct":"text"}]`, []any{"x"}, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := dv.await(p, nil)
	if err != nil || out != `{"d":[-1],"e":"TypeError: no queue handler: the default export has no queue method"}` {
		t.Fatalf("out %q err %v", out, err)
	}
}

func TestQueueBindingWithoutSet(t *testing.T) {
	d := newDispatchVM(t, moduleBundle(`try { await env.TASKS.send(1) } catch (e) { return new Response(e.name + ": " + e.message) }`))
	d.setEnv(t, `({ TASKS: { kind: "queue" } })`)
	if s := d.mustServe("GET", "http://h.test/", "", nil); s.body.String() != "TypeError: Queue.send: env.TASKS is not a queue binding of this version" {
		t.Fatalf("got %q", s.body.String())
	}
}

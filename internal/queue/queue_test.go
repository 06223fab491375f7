package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// recorder is a Go queue handler that records each delivery and decides
// with decide (nil: ack everything).
type recorder struct {
	mu      sync.Mutex
	seen    []*Message
	batches []int
	decide  func(m *Message) Decision
	got     chan *Message
}

func newRecorder(decide func(m *Message) Decision) *recorder {
	return &recorder{decide: decide, got: make(chan *Message, 1000)}
}

func (r *recorder) handle(_ context.Context, b *Batch) ([]Decision, error) {
	ds := make([]Decision, len(b.Messages))
	r.mu.Lock()
	r.batches = append(r.batches, len(b.Messages))
	r.mu.Unlock()
	for i, m := range b.Messages {
		r.mu.Lock()
		r.seen = append(r.seen, m)
		r.mu.Unlock()
		if r.decide != nil {
			ds[i] = r.decide(m)
		}
		r.got <- m
	}
	return ds, nil
}

func send(t *testing.T, b *Broker, q string, bodies ...string) {
	t.Helper()
	msgs := make([]binding.QueueMessage, len(bodies))
	for i, s := range bodies {
		msgs[i] = binding.QueueMessage{Body: []byte(s), ContentType: "text"}
	}
	if err := b.Send(t.Context(), "app", q, msgs); err != nil {
		t.Fatal(err)
	}
}

func consume(t *testing.T, b *Broker, cfg ConsumerConfig, h Handler) *Consumer {
	t.Helper()
	cfg.App = "app"
	c, err := b.Consume(t.Context(), cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func stats(t *testing.T, b *Broker, q, dlq string) *Stats {
	t.Helper()
	s, err := b.Stats(t.Context(), "app", q, dlq)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// settled waits until the queue has nothing ready or in flight.
func settled(t *testing.T, b *Broker, q string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() bool {
		s := stats(t, b, q, "")
		return s.Ready == 0 && s.InFlight == 0 && s.Delayed == 0
	}, "queue %s settled", q)
}

func TestSendConsumeAck(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "a", "b", "c")
	if s := stats(t, b, "tasks", ""); s.Ready != 3 {
		t.Fatalf("before consuming: %+v", s)
	}
	r := newRecorder(nil)
	consume(t, b, ConsumerConfig{Queue: "tasks"}, r.handle)
	var bodies []string
	for range 3 {
		m := testutil.Receive(t, r.got, 10*time.Second)
		bodies = append(bodies, string(m.Body))
		if m.Attempts != 1 || len(m.ID) != 32 || m.ContentType != "text" || time.Since(m.Timestamp) > time.Minute {
			t.Errorf("message %+v", m)
		}
	}
	if fmt.Sprint(bodies) != "[a b c]" {
		t.Errorf("bodies %v, want in order", bodies)
	}
	settled(t, b, "tasks")
	if s := stats(t, b, "tasks", ""); s.Delivered != 3 || s.Dead != 0 {
		t.Errorf("after: %+v", s)
	}
}

func TestBatches(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	var bodies []string
	for i := range 25 {
		bodies = append(bodies, fmt.Sprint(i))
	}
	send(t, b, "tasks", bodies...)
	r := newRecorder(nil)
	consume(t, b, ConsumerConfig{Queue: "tasks", Batch: 10}, r.handle)
	for range 25 {
		testutil.Receive(t, r.got, 10*time.Second)
	}
	settled(t, b, "tasks")
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for _, n := range r.batches {
		if n > 10 {
			t.Errorf("batch of %d, over 10", n)
		}
		total += n
	}
	if total != 25 || len(r.batches) > 5 {
		t.Errorf("batches %v", r.batches)
	}
}

func TestRetryThenAck(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "x")
	r := newRecorder(func(m *Message) Decision {
		if m.Attempts < 3 {
			return Decision{Retry: true, DefaultDelay: true}
		}
		return Decision{}
	})
	consume(t, b, ConsumerConfig{Queue: "tasks", RetryDelay: 200 * time.Millisecond}, r.handle)
	var times []time.Time
	for want := 1; want <= 3; want++ {
		m := testutil.Receive(t, r.got, 10*time.Second)
		if m.Attempts != want || string(m.Body) != "x" {
			t.Fatalf("delivery %d: attempts %d body %q", want, m.Attempts, m.Body)
		}
		times = append(times, time.Now())
	}
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < 180*time.Millisecond {
			t.Errorf("retry %d came after %v, want the retry delay of 200ms", i, d)
		}
	}
	settled(t, b, "tasks")
}

func TestRetryWithExplicitDelay(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "x")
	r := newRecorder(func(m *Message) Decision {
		if m.Attempts == 1 {
			return Decision{Retry: true, Delay: time.Second}
		}
		return Decision{}
	})
	consume(t, b, ConsumerConfig{Queue: "tasks"}, r.handle)
	testutil.Receive(t, r.got, 10*time.Second)
	start := time.Now()
	m := testutil.Receive(t, r.got, 10*time.Second)
	if d := time.Since(start); m.Attempts != 2 || d < 900*time.Millisecond {
		t.Fatalf("second delivery attempts %d after %v, want 2 after 1s", m.Attempts, d)
	}
	settled(t, b, "tasks")
}

func TestDelayedSend(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	start := time.Now()
	err := b.Send(t.Context(), "app", "tasks", []binding.QueueMessage{
		{Body: []byte(`"later"`), Delay: 2 * time.Second},
		{Body: []byte(`"now"`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := stats(t, b, "tasks", ""); s.Delayed != 1 || s.Ready != 1 {
		t.Fatalf("stats after send: %+v", s)
	}
	r := newRecorder(nil)
	consume(t, b, ConsumerConfig{Queue: "tasks"}, r.handle)
	if m := testutil.Receive(t, r.got, 10*time.Second); string(m.Body) != `"now"` || m.ContentType != "json" {
		t.Fatalf("first: %q %s", m.Body, m.ContentType)
	}
	m := testutil.Receive(t, r.got, 10*time.Second)
	if d := time.Since(start); string(m.Body) != `"later"` || d < 2*time.Second {
		t.Fatalf("delayed message %q after %v, want after 2s", m.Body, d)
	}
	if m.Attempts != 1 || m.Timestamp.Sub(start) > time.Second {
		t.Errorf("delayed message attempts %d, timestamp %v after start (want the send time)", m.Attempts, m.Timestamp.Sub(start))
	}
	settled(t, b, "tasks")
}

func TestDeadLetterAfterMaxRetries(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "poison", "fine")
	var mu sync.Mutex
	var deadReasons []string
	r := newRecorder(func(m *Message) Decision { return Decision{Retry: true, DefaultDelay: true} })
	h := func(ctx context.Context, bt *Batch) ([]Decision, error) {
		ds, _ := r.handle(ctx, bt)
		for i, m := range bt.Messages {
			if string(m.Body) == "fine" {
				ds[i] = Decision{}
			}
		}
		return ds, fmt.Errorf("boom on attempt %d", bt.Messages[0].Attempts)
	}
	consume(t, b, ConsumerConfig{Queue: "tasks", MaxRetries: 2, DeadLetter: "tasks-dlq",
		OnDead: func(m *Message, reason string) { mu.Lock(); deadReasons = append(deadReasons, reason); mu.Unlock() }}, h)
	testutil.Eventually(t, 10*time.Second, func() bool { return stats(t, b, "tasks", "tasks-dlq").Dead == 1 }, "dead letter")
	settled(t, b, "tasks")
	poison := 0
	r.mu.Lock()
	for _, m := range r.seen {
		if string(m.Body) == "poison" {
			poison++
		}
	}
	r.mu.Unlock()
	if poison != 3 {
		t.Errorf("poison delivered %d times, want 1 + 2 retries", poison)
	}
	dead, err := b.Dead(t.Context(), "app", "tasks", "tasks-dlq", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || string(dead[0].Body) != "poison" || dead[0].Attempts != 3 ||
		dead[0].Error != "boom on attempt 3" || dead[0].DeadLetter != "tasks-dlq" || dead[0].ContentType != "text" {
		t.Fatalf("dead %+v", dead)
	}
	mu.Lock()
	if fmt.Sprint(deadReasons) != "[boom on attempt 3]" {
		t.Errorf("OnDead reasons %q", deadReasons)
	}
	mu.Unlock()
	// The dead-letter queue is a queue: its messages keep their id.
	if s := stats(t, b, "tasks-dlq", ""); s.Ready != 1 {
		t.Errorf("dead-letter queue stats %+v", s)
	}

	// Requeue: back on the queue, retried from attempt 1 (and dead again).
	n, err := b.Requeue(t.Context(), "app", "tasks", "tasks-dlq", 0)
	if err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	m := testutil.Receive(t, r.got, 10*time.Second)
	for string(m.Body) != "poison" {
		m = testutil.Receive(t, r.got, 10*time.Second)
	}
	if m.Attempts != 1 || m.ID != dead[0].ID {
		t.Errorf("requeued message attempts %d id %s, want 1 and %s", m.Attempts, m.ID, dead[0].ID)
	}
}

func TestDeadWithoutDeadLetterQueueIsKept(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "poison")
	r := newRecorder(func(m *Message) Decision { return Decision{Retry: true, DefaultDelay: true} })
	c := consume(t, b, ConsumerConfig{Queue: "tasks", MaxRetries: -1}, r.handle)
	testutil.Eventually(t, 10*time.Second, func() bool { return stats(t, b, "tasks", "").Dead == 1 }, "kept dead")
	settled(t, b, "tasks")
	dead, err := b.Dead(t.Context(), "app", "tasks", "", 0)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 1 || dead[0].DeadLetter != "" || dead[0].Error != "retried by the handler" {
		t.Fatalf("dead %+v, %v", dead, err)
	}
	c.Stop()
	// Requeued, it is delivered again.
	if n, err := b.Requeue(t.Context(), "app", "tasks", "", 0); err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	if s := stats(t, b, "tasks", ""); s.Ready != 1 || s.Dead != 0 {
		t.Fatalf("after requeue: %+v", s)
	}
}

// Two consumers share the queue (two nodes). The first gets the message
// and hangs past the ack timeout without settling it (as a node that
// stopped mid-task would); JetStream delivers it to the second, which
// acks it. The message is settled once: nothing is left and it is not
// delivered a third time.
func TestAckTimeoutRedeliversToAnotherConsumer(t *testing.T) {
	st := testutil.Store(t)
	b1 := NewBroker(st, testutil.Logger(t))
	b2 := NewBroker(st, testutil.Logger(t))
	send(t, b1, "tasks", "job")
	release := make(chan struct{})
	started := make(chan *Message, 1)
	hung := func(_ context.Context, bt *Batch) ([]Decision, error) {
		started <- bt.Messages[0]
		<-release // ignores its context: stuck
		return nil, fmt.Errorf("gave up")
	}
	cfg := ConsumerConfig{Queue: "tasks", AckTimeout: time.Second}
	c1 := consume(t, b1, cfg, hung)
	first := testutil.Receive(t, started, 10*time.Second)
	r := newRecorder(nil)
	consume(t, b2, cfg, r.handle)
	m := testutil.Receive(t, r.got, 10*time.Second)
	if m.ID != first.ID || m.Attempts != 2 {
		t.Fatalf("redelivered %s attempt %d, want %s attempt 2", m.ID, m.Attempts, first.ID)
	}
	close(release)
	c1.Stop()
	settled(t, b1, "tasks")
	select {
	case m := <-r.got:
		t.Fatalf("delivered again: %+v", m)
	case <-time.After(1500 * time.Millisecond):
	}
	if s := stats(t, b1, "tasks", ""); s.Delivered != 2 || s.Dead != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A delivery past the last retry that was never settled (its node died on
// the last attempt) is dead-lettered, not left stuck.
func TestLastAttemptTimedOutIsDeadLettered(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "job")
	release := make(chan struct{})
	defer close(release)
	var calls sync.WaitGroup
	calls.Add(1)
	hung := func(context.Context, *Batch) ([]Decision, error) {
		calls.Done()
		<-release
		return nil, nil
	}
	cfg := ConsumerConfig{Queue: "tasks", AckTimeout: time.Second, MaxRetries: -1, Concurrency: 2}
	consume(t, b, cfg, hung)
	calls.Wait()
	testutil.Eventually(t, 10*time.Second, func() bool { return stats(t, b, "tasks", "").Dead == 1 }, "dead after timeout")
	dead, err := b.Dead(t.Context(), "app", "tasks", "", 0)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 1 {
		t.Fatalf("dead %+v %v", dead, err)
	}
}

func TestSendChecks(t *testing.T) {
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	for _, m := range []binding.QueueMessage{
		{Body: make([]byte, MaxMessageBytes+1)},
		{ContentType: "v8"},
		{Delay: MaxDelay + time.Second},
	} {
		if err := b.Send(t.Context(), "app", "tasks", []binding.QueueMessage{m}); err == nil {
			t.Errorf("sent %v", m.ContentType)
		}
	}
	if err := b.Send(t.Context(), "app", "tasks", make([]binding.QueueMessage, MaxBatchLen+1)); err == nil {
		t.Error("sent an oversized batch")
	}
	if _, err := b.Ensure(t.Context(), "app", "bad.name"); err == nil {
		t.Error("ensured a queue with a dot")
	}
}

// Regression guard for clusters: the stream and consumer use the store's
// replica count (1 here), and a second broker reuses them.
func TestEnsureIdempotent(t *testing.T) {
	st := testutil.Store(t)
	for range 2 {
		b := NewBroker(st, testutil.Logger(t))
		s, err := b.Ensure(t.Context(), "app", "tasks")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(t.Context())
		if err != nil || info.Config.Replicas != st.Replicas() {
			t.Fatalf("info %+v %v", info, err)
		}
	}
	var _ *store.Store = st
}

// Deleting an app's queues removes their streams; a consumer still
// running does not bring a stream back, but resumes once a send makes it
// again.
func TestDeleteAppAndRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the consumer's reconnect backoff; skipped with -short")
	}
	st := testutil.Store(t)
	b := NewBroker(st, testutil.Logger(t))
	send(t, b, "tasks", "one")
	send(t, b, "other", "x")
	r := newRecorder(nil)
	consume(t, b, ConsumerConfig{Queue: "tasks"}, r.handle)
	testutil.Receive(t, r.got, 10*time.Second)
	n, err := NewBroker(st, testutil.Logger(t)).DeleteApp(t.Context(), "app")
	if err != nil || n != 2 {
		t.Fatalf("DeleteApp: %d %v", n, err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := st.JetStream().Stream(t.Context(), StreamName("app", "tasks")); err == nil {
		t.Fatal("the consumer made the deleted stream again")
	}
	send(t, b, "tasks", "two") // b remembers the deleted stream: Send makes it again
	if m := testutil.Receive(t, r.got, 15*time.Second); string(m.Body) != "two" {
		t.Fatalf("after recovery got %q", m.Body)
	}
}

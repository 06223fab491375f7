// Package queue runs apps' queues on JetStream: one work-queue stream per
// queue, producers that publish to it, and consumers that hand batches to
// the app's queue handler and settle each message as the handler decided
// (ack, retry after a delay, or dead letter once out of retries).
//
// Layout of the queue <q> of app <a> (docs/queues.md has the whole story):
//
//	stream   q_<a>_<q>, work-queue retention, subjects q.<a>.<q> and q.<a>.<q>.>
//	q.<a>.<q>              messages ready for the consumer
//	q.<a>.<q>.delay.<id>   delayed sends: JetStream message schedules
//	                       ("@at"), moved to q.<a>.<q> by the server when due
//	q.<a>.<q>.dead         messages out of retries when the consumer has no
//	                       dead-letter queue: kept, never delivered, listed
//	                       by `kumo queue dlq` and requeued by --requeue
//	consumer "kumo"        one durable pull consumer shared by every node,
//	                       filtered on q.<a>.<q>, so each message goes to one node
//
// Delivery is at least once. A message not settled within the consumer's
// ack timeout (its node stopped, or the invocation outlived it) is
// delivered again, to whichever node asks first.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/store"
)

// Message headers Kumo sets. Ids, send times and content types travel
// with the message, through delays and dead letters.
const (
	HeaderID          = "Kumo-Id"           // message id, 32 hex digits
	HeaderSent        = "Kumo-Sent"         // unix milliseconds of the send
	HeaderContentType = "Kumo-Content-Type" // "json", "text" or "bytes"
	// HeaderNotBefore (unix milliseconds) delays a message on servers
	// without message schedules: the consumer puts it back until then.
	HeaderNotBefore = "Kumo-Not-Before"

	// Set on dead-lettered messages.
	HeaderDeadQueue    = "Kumo-Dead-Queue"    // the queue the message came from
	HeaderDeadAttempts = "Kumo-Dead-Attempts" // deliveries it had
	HeaderDeadError    = "Kumo-Dead-Error"    // why the last one failed
	HeaderDeadTime     = "Kumo-Dead-Time"     // unix milliseconds it was dead-lettered
)

// Limits of the producer (as in Workers).
const (
	MaxMessageBytes = 128 << 10
	MaxBatchLen     = 100
	MaxDelay        = 12 * time.Hour
)

// ConsumerName is the durable consumer every node shares.
const ConsumerName = "kumo"

// ContentTypes a message body can have.
var ContentTypes = []string{"json", "text", "bytes"}

// StreamName is the stream of queue q of app a.
func StreamName(a, q string) string { return "q_" + a + "_" + q }

// Subject is the subject ready messages of queue q of app a are on.
func Subject(a, q string) string { return "q." + a + "." + q }

func delaySubject(a, q, id string) string { return Subject(a, q) + ".delay." + id }

// DeadSubject keeps the messages of a queue without a dead-letter queue
// that ran out of retries.
func DeadSubject(a, q string) string { return Subject(a, q) + ".dead" }

// ValidName reports whether q can name a queue: 1 to 64 of a-z A-Z 0-9 - _
// (a NATS subject token and stream name part).
func ValidName(q string) error {
	if q == "" || len(q) > 64 {
		return fmt.Errorf("queue name %q: must be 1 to 64 characters", q)
	}
	for _, r := range q {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("queue name %q: character %q not allowed (a-z A-Z 0-9 - _)", q, r)
		}
	}
	return nil
}

// Broker is the queue layer over one store: it provisions streams and
// sends, consumes and inspects messages. Safe for concurrent use.
type Broker struct {
	js        jetstream.JetStream
	replicas  int
	schedules bool // the server has message schedules (2.12+)
	log       *slog.Logger

	mu      sync.Mutex
	ensured map[string]jetstream.Stream
}

// NewBroker returns the queue layer of st.
func NewBroker(st *store.Store, log *slog.Logger) *Broker {
	if log == nil {
		log = slog.Default()
	}
	return &Broker{
		js:        st.JetStream(),
		replicas:  st.Replicas(),
		schedules: serverAtLeast(st.Conn(), 2, 12),
		log:       log.With("component", "queue"),
		ensured:   make(map[string]jetstream.Stream),
	}
}

// serverAtLeast reports whether the connected server is at least
// major.minor.
func serverAtLeast(nc *nats.Conn, major, minor int) bool {
	v := strings.TrimPrefix(nc.ConnectedServerVersion(), "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// Ensure creates the stream of queue q of app a, or updates its
// configuration; it is idempotent and remembered for the broker's life.
func (b *Broker) Ensure(ctx context.Context, a, q string) (jetstream.Stream, error) {
	name := StreamName(a, q)
	b.mu.Lock()
	s := b.ensured[name]
	b.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if err := ValidName(q); err != nil {
		return nil, err
	}
	subj := Subject(a, q)
	s, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              name,
		Description:       fmt.Sprintf("Kumo queue %q of app %q", q, a),
		Subjects:          []string{subj, subj + ".>"},
		Retention:         jetstream.WorkQueuePolicy,
		Storage:           jetstream.FileStorage,
		Replicas:          b.replicas,
		MaxMsgSize:        MaxMessageBytes + 4096, // body plus headers
		Duplicates:        2 * time.Minute,
		AllowMsgSchedules: b.schedules,
	})
	if err != nil {
		return nil, fmt.Errorf("provisioning queue stream %s: %w", name, err)
	}
	b.mu.Lock()
	b.ensured[name] = s
	b.mu.Unlock()
	return s, nil
}

// forget drops a remembered stream (it was deleted under us).
func (b *Broker) forget(a, q string) {
	b.mu.Lock()
	delete(b.ensured, StreamName(a, q))
	b.mu.Unlock()
}

// NewID returns a fresh message id: 32 lowercase hex digits.
func NewID() string {
	var x [16]byte
	_, _ = rand.Read(x[:])
	return hex.EncodeToString(x[:])
}

// Send publishes msgs to queue q of app a, in order, each acknowledged by
// the server (stored) before Send returns. A message with a Delay becomes
// ready that much later.
func (b *Broker) Send(ctx context.Context, a, q string, msgs []binding.QueueMessage) error {
	if len(msgs) > MaxBatchLen {
		return fmt.Errorf("sending to queue %s: %d messages in one batch, at most %d", q, len(msgs), MaxBatchLen)
	}
	for i, m := range msgs {
		if err := checkMessage(m); err != nil {
			return fmt.Errorf("sending to queue %s: message %d: %w", q, i, err)
		}
	}
	err := b.send(ctx, a, q, msgs)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		// The stream was deleted under us (nothing was stored): make it
		// again and send once more.
		b.forget(a, q)
		err = b.send(ctx, a, q, msgs)
	}
	return err
}

func (b *Broker) send(ctx context.Context, a, q string, msgs []binding.QueueMessage) error {
	if _, err := b.Ensure(ctx, a, q); err != nil {
		return err
	}
	now := time.Now()
	sent := strconv.FormatInt(now.UnixMilli(), 10)
	// Publish all, then wait for all acks: one round trip for the batch.
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		nm, opts := b.message(a, q, m, now, sent)
		f, err := b.js.PublishMsgAsync(nm, opts...)
		if err != nil {
			return fmt.Errorf("sending to queue %s: %w", q, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("sending to queue %s: %w", q, err)
		case <-ctx.Done():
			return fmt.Errorf("sending to queue %s: %w", q, ctx.Err())
		}
	}
	return nil
}

func checkMessage(m binding.QueueMessage) error {
	if len(m.Body) > MaxMessageBytes {
		return fmt.Errorf("body of %d bytes is over the limit of %d", len(m.Body), MaxMessageBytes)
	}
	switch m.ContentType {
	case "", "json", "text", "bytes":
	default:
		return fmt.Errorf("content type %q: must be json, text or bytes", m.ContentType)
	}
	if m.Delay < 0 || m.Delay > MaxDelay {
		return fmt.Errorf("delay %v: must be between 0 and %v", m.Delay, MaxDelay)
	}
	return nil
}

// message builds the NATS message of m and its publish options.
func (b *Broker) message(a, q string, m binding.QueueMessage, now time.Time, sent string) (*nats.Msg, []jetstream.PublishOpt) {
	id := NewID()
	ct := m.ContentType
	if ct == "" {
		ct = "json"
	}
	nm := &nats.Msg{Subject: Subject(a, q), Data: m.Body, Header: nats.Header{}}
	nm.Header.Set(HeaderID, id)
	nm.Header.Set(HeaderSent, sent)
	nm.Header.Set(HeaderContentType, ct)
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(id)}
	if m.Delay <= 0 {
		return nm, opts
	}
	at := now.Add(m.Delay)
	if !b.schedules {
		nm.Header.Set(HeaderNotBefore, strconv.FormatInt(at.UnixMilli(), 10))
		return nm, opts
	}
	// Schedules have whole-second precision: round up so a message is
	// never early.
	at = time.Unix(int64(math.Ceil(float64(at.UnixNano())/1e9)), 0)
	nm.Subject = delaySubject(a, q, id)
	return nm, append(opts, jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(Subject(a, q)))
}

// Producer returns queue q of app a as a binding.Queue.
func (b *Broker) Producer(a, q string) binding.Queue { return &producer{b: b, app: a, queue: q} }

type producer struct {
	b          *Broker
	app, queue string
}

func (p *producer) Send(ctx context.Context, msgs []binding.QueueMessage) error {
	return p.b.Send(ctx, p.app, p.queue, msgs)
}

var _ binding.Queue = (*producer)(nil)

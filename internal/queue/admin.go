package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stats describes one queue at one moment.
type Stats struct {
	// Ready is how many messages wait for a consumer.
	Ready int64
	// Delayed is how many sent messages are not due yet.
	Delayed int64
	// InFlight is how many are delivered and not yet settled.
	InFlight int64
	// Redelivering is how many of the waiting or in-flight messages were
	// delivered before (retried or timed out).
	Redelivering int64
	// Delivered is how many deliveries the consumer has made in all.
	Delivered uint64
	// Dead is how many messages out of retries are held: those from this
	// queue on the dead-letter queue (DeadLetter), plus those kept on the
	// queue's own dead subject.
	Dead int64
	// DeadLetter is the dead-letter queue Dead counts, "" when none.
	DeadLetter string
	// Waiting is how many pull requests wait on the queue (nodes idle and
	// ready for more).
	Waiting int
}

// Stats reads the counters of queue q of app a; dlq names its dead-letter
// queue ("" when none). A queue never used reads as all zeros.
func (b *Broker) Stats(ctx context.Context, a, q, dlq string) (*Stats, error) {
	st := &Stats{DeadLetter: dlq}
	s, err := b.js.Stream(ctx, StreamName(a, q))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading queue %s: %w", q, err)
	}
	subj := Subject(a, q)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subj+".>"))
	if err != nil {
		return nil, fmt.Errorf("reading queue %s: %w", q, err)
	}
	var other int64
	for k, n := range info.State.Subjects {
		switch {
		case strings.HasPrefix(k, subj+".delay."):
			st.Delayed += int64(n)
		case k == DeadSubject(a, q):
			st.Dead += int64(n)
			other += int64(n)
		}
	}
	ci, err := s.Consumer(ctx, ConsumerName)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		// Nobody consumes it yet: everything on the ready subject waits.
		st.Ready = int64(info.State.Msgs) - st.Delayed - other
	case err != nil:
		return nil, fmt.Errorf("reading consumer of queue %s: %w", q, err)
	default:
		cinfo, err := ci.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading consumer of queue %s: %w", q, err)
		}
		st.Ready = int64(cinfo.NumPending)
		st.InFlight = int64(cinfo.NumAckPending)
		st.Redelivering = int64(cinfo.NumRedelivered)
		st.Delivered = cinfo.Delivered.Consumer
		st.Waiting = cinfo.NumWaiting
	}
	if dlq != "" {
		n, err := b.countDead(ctx, a, dlq, q)
		if err != nil {
			return nil, err
		}
		st.Dead += n
	}
	return st, nil
}

// countDead counts the messages on queue dlq that came from queue from.
func (b *Broker) countDead(ctx context.Context, a, dlq, from string) (int64, error) {
	var n int64
	err := b.scan(ctx, StreamName(a, dlq), Subject(a, dlq), 0, func(m *jetstream.RawStreamMsg) bool {
		if m.Header.Get(HeaderDeadQueue) == from {
			n++
		}
		return true
	})
	return n, err
}

// DeadMessage is a message out of retries.
type DeadMessage struct {
	ID          string
	Seq         uint64 // its sequence where it is held
	Sent        time.Time
	DeadAt      time.Time
	Attempts    int
	Error       string
	ContentType string
	Body        []byte
	// Where it is held: the dead-letter queue's name, or "" for the
	// queue's own dead subject.
	DeadLetter string
}

// Dead lists up to limit (0: 100) messages dead-lettered from queue q of
// app a: those on its dead-letter queue dlq (when not "") that came from
// q, and those kept on q's own dead subject (from a time it had no
// dead-letter queue), oldest first.
func (b *Broker) Dead(ctx context.Context, a, q, dlq string, limit int) ([]DeadMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []DeadMessage
	add := func(where string) func(m *jetstream.RawStreamMsg) bool {
		return func(m *jetstream.RawStreamMsg) bool {
			if where != "" && m.Header.Get(HeaderDeadQueue) != q {
				return true
			}
			out = append(out, deadMessage(m, where))
			return len(out) < limit
		}
	}
	if err := b.scan(ctx, StreamName(a, q), DeadSubject(a, q), 0, add("")); err != nil {
		return nil, err
	}
	if dlq != "" && len(out) < limit {
		if err := b.scan(ctx, StreamName(a, dlq), Subject(a, dlq), 0, add(dlq)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deadMessage(m *jetstream.RawStreamMsg, where string) DeadMessage {
	h := m.Header
	d := DeadMessage{ID: h.Get(HeaderID), Seq: m.Sequence, Error: h.Get(HeaderDeadError),
		ContentType: h.Get(HeaderContentType), Body: m.Data, DeadLetter: where}
	if ms, err := strconv.ParseInt(h.Get(HeaderSent), 10, 64); err == nil {
		d.Sent = time.UnixMilli(ms)
	}
	if ms, err := strconv.ParseInt(h.Get(HeaderDeadTime), 10, 64); err == nil {
		d.DeadAt = time.UnixMilli(ms)
	}
	d.Attempts, _ = strconv.Atoi(h.Get(HeaderDeadAttempts))
	if d.ContentType == "" {
		d.ContentType = "json"
	}
	return d
}

// scan calls fn with each message of stream on subject from sequence
// from on, until fn returns false. A missing stream has no messages.
func (b *Broker) scan(ctx context.Context, stream, subject string, from uint64, fn func(*jetstream.RawStreamMsg) bool) error {
	s, err := b.js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", stream, err)
	}
	seq := max(from, 1)
	for {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading stream %s: %w", stream, err)
		}
		if !fn(m) {
			return nil
		}
		seq = m.Sequence + 1
	}
}

// MaxRequeue bounds the messages one Requeue moves.
const MaxRequeue = 10000

// Requeue sends up to limit (0: MaxRequeue) dead-lettered messages of
// queue q (as Dead lists them at the start) back to q with their ids,
// bodies and content types and fresh attempt counts, and removes them from
// where they were held. Messages dead-lettered while it runs stay. It
// returns how many moved.
func (b *Broker) Requeue(ctx context.Context, a, q, dlq string, limit int) (int, error) {
	if limit <= 0 || limit > MaxRequeue {
		limit = MaxRequeue
	}
	if _, err := b.Ensure(ctx, a, q); err != nil {
		return 0, err
	}
	dead, err := b.Dead(ctx, a, q, dlq, limit)
	if err != nil {
		return 0, err
	}
	for i, d := range dead {
		if err := b.requeueOne(ctx, a, q, d); err != nil {
			return i, err
		}
	}
	return len(dead), nil
}

func (b *Broker) requeueOne(ctx context.Context, a, q string, d DeadMessage) error {
	from := q
	if d.DeadLetter != "" {
		from = d.DeadLetter
	}
	nm := &nats.Msg{Subject: Subject(a, q), Data: d.Body, Header: nats.Header{}}
	nm.Header.Set(HeaderID, d.ID)
	nm.Header.Set(HeaderSent, strconv.FormatInt(d.Sent.UnixMilli(), 10))
	nm.Header.Set(HeaderContentType, d.ContentType)
	// Deduplicated on where it was held, so a requeue interrupted between
	// the publish and the delete does not send it twice.
	dedupe := fmt.Sprintf("requeue-%s-%d", StreamName(a, from), d.Seq)
	if _, err := b.js.PublishMsg(ctx, nm, jetstream.WithMsgID(dedupe)); err != nil {
		return fmt.Errorf("requeueing message %s: %w", d.ID, err)
	}
	s, err := b.js.Stream(ctx, StreamName(a, from))
	if err != nil {
		return fmt.Errorf("requeueing message %s: %w", d.ID, err)
	}
	if err := s.DeleteMsg(ctx, d.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("removing requeued message %s: %w", d.ID, err)
	}
	return nil
}

// Delete removes the stream of queue q of app a and every message on it
// (an app's removal). A missing stream is no error.
func (b *Broker) Delete(ctx context.Context, a, q string) error {
	b.forget(a, q)
	err := b.js.DeleteStream(ctx, StreamName(a, q))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("deleting queue %s: %w", q, err)
	}
	return nil
}

// DeleteApp removes every queue stream of app a and their messages (the
// app's removal). It returns how many it removed.
func (b *Broker) DeleteApp(ctx context.Context, a string) (int, error) {
	lister := b.js.StreamNames(ctx, jetstream.WithStreamListSubject("q."+a+".>"))
	var names []string
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		return 0, fmt.Errorf("listing queues of %s: %w", a, err)
	}
	prefix := "q_" + a + "_"
	n := 0
	for _, name := range names {
		q, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if err := b.Delete(ctx, a, q); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

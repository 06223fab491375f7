package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/app"
)

// Defaults of a consumer (the manifest's zero values).
const (
	DefaultMaxRetries = 3
	DefaultBatch      = 10
	DefaultAckTimeout = 30 * time.Second
	// MaxBatch bounds the messages of one invocation.
	MaxBatch = 100
)

// ConsumerConfig configures the consumer of one queue on one node.
type ConsumerConfig struct {
	App, Queue string
	// MaxRetries is how many deliveries a message gets after the first;
	// after the last one fails it is dead-lettered.
	MaxRetries int
	// RetryDelay is how long a retried message waits when the handler
	// names no delay.
	RetryDelay time.Duration
	// DeadLetter is the queue (of the same app) that receives messages out
	// of retries; "" keeps them on the queue's dead subject.
	DeadLetter string
	// Batch is the most messages one invocation gets. A batch is what is
	// waiting when the consumer asks, up to Batch: it does not wait to fill.
	Batch int
	// AckTimeout is how long a delivery may go unsettled before JetStream
	// delivers the message again (to any node). The handler's context ends
	// a little before it, so a live node settles first.
	AckTimeout time.Duration
	// Concurrency is how many batches this node handles at once; default 1.
	Concurrency int
	// OnDead, if set, is told about each dead-lettered message.
	OnDead func(m *Message, reason string)
}

// ConsumerConfigFor turns a manifest consumer into a ConsumerConfig with
// the defaults applied. A negative max_retries means no retries.
func ConsumerConfigFor(appName string, c app.QueueConsumer) ConsumerConfig {
	cfg := ConsumerConfig{
		App: appName, Queue: c.Queue, MaxRetries: c.MaxRetries, DeadLetter: c.DeadLetter, Batch: c.Batch,
		RetryDelay: time.Duration(c.RetryDelayMs) * time.Millisecond,
		AckTimeout: time.Duration(c.AckTimeoutMs) * time.Millisecond,
	}
	return cfg.withDefaults()
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	c.Batch = min(c.Batch, MaxBatch)
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.RetryDelay < 0 {
		c.RetryDelay = 0
	}
	return c
}

// Message is one delivered message as the handler sees it.
type Message struct {
	ID          string
	Timestamp   time.Time // when it was sent
	Body        []byte
	ContentType string // "json", "text" or "bytes"
	Attempts    int    // this delivery's number, from 1
	msg         jetstream.Msg
	seq         uint64
}

// Batch is what one invocation of the queue handler gets.
type Batch struct {
	Queue    string
	Messages []*Message
}

// Decision is the handler's verdict on one message: ack it, or retry it
// after Delay (DefaultDelay: the consumer's retry delay).
type Decision struct {
	Retry        bool
	DefaultDelay bool
	Delay        time.Duration
}

// Handler runs one batch. It returns one decision per message, in order;
// with nil decisions and an error every message is retried. When both are
// returned (the handler threw after deciding some messages), the
// decisions stand and err is the reason given for the retried ones.
type Handler func(ctx context.Context, b *Batch) ([]Decision, error)

// Consumer pulls one queue's messages on this node and runs them through
// its handler until stopped.
type Consumer struct {
	b   *Broker
	cfg ConsumerConfig
	h   Handler

	consMu sync.Mutex
	cons   jetstream.Consumer // replaced when made again

	stop context.CancelFunc
	wg   sync.WaitGroup
	once sync.Once
}

// Consume provisions the queue's stream (and its dead-letter queue's),
// creates or updates the shared durable consumer and starts pulling.
func (b *Broker) Consume(ctx context.Context, cfg ConsumerConfig, h Handler) (*Consumer, error) {
	cfg = cfg.withDefaults()
	if cfg.DeadLetter != "" {
		if cfg.DeadLetter == cfg.Queue {
			return nil, fmt.Errorf("consuming queue %s: it cannot be its own dead-letter queue", cfg.Queue)
		}
		if _, err := b.Ensure(ctx, cfg.App, cfg.DeadLetter); err != nil {
			return nil, err
		}
	}
	c := &Consumer{b: b, cfg: cfg, h: h}
	if err := c.provision(ctx, true); err != nil {
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	c.stop = stop
	for range cfg.Concurrency {
		c.wg.Add(1)
		go c.loop(life)
	}
	return c, nil
}

// provision creates or updates the durable consumer, and the stream too
// with create. Without it a missing stream stays missing: it was deleted
// with its app, or will be made again by the next send.
func (c *Consumer) provision(ctx context.Context, create bool) error {
	var s jetstream.Stream
	var err error
	if create {
		s, err = c.b.Ensure(ctx, c.cfg.App, c.cfg.Queue)
	} else {
		s, err = c.b.js.Stream(ctx, StreamName(c.cfg.App, c.cfg.Queue))
	}
	if err != nil {
		return err
	}
	// MaxDeliver is unlimited on purpose: the consumer counts deliveries
	// itself and dead-letters a message past its last retry, including one
	// whose last delivery timed out. A JetStream MaxDeliver would instead
	// leave such a message stuck in the stream, never delivered again.
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "Kumo queue consumer, shared by every node",
		FilterSubject: Subject(c.cfg.App, c.cfg.Queue),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckTimeout,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 10000,
	})
	if err != nil {
		return fmt.Errorf("creating consumer of queue %s: %w", StreamName(c.cfg.App, c.cfg.Queue), err)
	}
	c.consMu.Lock()
	c.cons = cons
	c.consMu.Unlock()
	return nil
}

func (c *Consumer) consumer() jetstream.Consumer {
	c.consMu.Lock()
	defer c.consMu.Unlock()
	return c.cons
}

// Config returns the consumer's configuration, defaults applied.
func (c *Consumer) Config() ConsumerConfig { return c.cfg }

// Stop stops pulling and waits for the batches being handled to be
// settled. Safe to call more than once.
func (c *Consumer) Stop() {
	c.once.Do(func() {
		c.stop()
		c.wg.Wait()
	})
}

// fetchWait bounds one long poll for the first message of a batch.
const fetchWait = 10 * time.Second

func (c *Consumer) loop(ctx context.Context) {
	defer c.wg.Done()
	log := c.b.log.With("app", c.cfg.App, "queue", c.cfg.Queue)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		msgs, err := c.fetch(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("fetching queue messages", "error", err, "backoff", backoff)
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) ||
				errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				c.b.forget(c.cfg.App, c.cfg.Queue)
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				if perr := c.provision(pctx, false); perr != nil {
					log.Warn("provisioning queue consumer again", "error", perr)
				}
				cancel()
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		} else {
			backoff = 100 * time.Millisecond
		}
		if len(msgs) > 0 {
			c.handle(msgs)
		}
	}
}

// fetch returns the messages waiting, up to a batch, waiting for the
// first one if none is.
func (c *Consumer) fetch(ctx context.Context) ([]jetstream.Msg, error) {
	cons := c.consumer()
	msgs, err := collect(cons.FetchNoWait(c.cfg.Batch))
	if len(msgs) > 0 || err != nil {
		return msgs, err
	}
	wctx, cancel := context.WithTimeout(ctx, fetchWait)
	msgs, err = collect(cons.Fetch(1, jetstream.FetchContext(wctx)))
	cancel()
	if ctx.Err() != nil {
		// Stopping: hand back what arrived rather than leave it to time out.
		for _, m := range msgs {
			_ = m.Nak()
		}
		return nil, nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	if len(msgs) == 0 || err != nil || c.cfg.Batch == 1 {
		return msgs, err
	}
	more, err := collect(cons.FetchNoWait(c.cfg.Batch - 1))
	return append(msgs, more...), err
}

func collect(b jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, err
	}
	var out []jetstream.Msg
	for m := range b.Messages() {
		out = append(out, m)
	}
	if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		return out, err
	}
	return out, nil
}

// handle runs one batch through the handler and settles every message.
func (c *Consumer) handle(msgs []jetstream.Msg) {
	cfg := c.cfg
	now := time.Now()
	batch := &Batch{Queue: cfg.Queue, Messages: make([]*Message, 0, len(msgs))}
	for _, jm := range msgs {
		m := toMessage(jm)
		h := jm.Headers()
		if nb := h.Get(HeaderNotBefore); nb != "" {
			// A delayed message on a server without schedules: its first
			// delivery only puts it back until it is due.
			if ms, err := strconv.ParseInt(nb, 10, 64); err == nil {
				if wait := time.UnixMilli(ms).Sub(now); wait > 0 {
					_ = jm.NakWithDelay(wait)
					continue
				}
				m.Attempts = max(m.Attempts-1, 1)
			}
		}
		if m.Attempts > cfg.MaxRetries+1 {
			// The last allowed delivery was never settled.
			c.dead(m, m.Attempts-1, fmt.Sprintf("not acknowledged within the ack timeout of %v", cfg.AckTimeout))
			continue
		}
		batch.Messages = append(batch.Messages, m)
	}
	if len(batch.Messages) == 0 {
		return
	}
	// Settle before JetStream would deliver again: the handler's context
	// ends a margin before the ack timeout.
	margin := min(max(cfg.AckTimeout/10, 200*time.Millisecond), 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.AckTimeout-margin)
	decisions, err := c.h(ctx, batch)
	cancel()
	if decisions != nil && len(decisions) != len(batch.Messages) {
		c.b.log.Error("queue handler returned the wrong number of decisions; retrying the batch",
			"app", cfg.App, "queue", cfg.Queue, "messages", len(batch.Messages), "decisions", len(decisions))
		decisions = nil
	}
	reason := "retried by the handler"
	if err != nil {
		reason = err.Error()
		if len(reason) > 1024 {
			reason = reason[:1024]
		}
	}
	for i, m := range batch.Messages {
		d := Decision{Retry: true, DefaultDelay: true}
		if decisions != nil {
			d = decisions[i]
		}
		if !d.Retry {
			_ = m.msg.Ack()
			continue
		}
		if m.Attempts >= cfg.MaxRetries+1 {
			c.dead(m, m.Attempts, reason)
			continue
		}
		delay := d.Delay
		if d.DefaultDelay {
			delay = cfg.RetryDelay
		}
		if delay > 0 {
			_ = m.msg.NakWithDelay(delay)
		} else {
			_ = m.msg.Nak()
		}
	}
}

func toMessage(jm jetstream.Msg) *Message {
	h := jm.Headers()
	m := &Message{ID: h.Get(HeaderID), Body: jm.Data(), ContentType: h.Get(HeaderContentType), msg: jm, Attempts: 1}
	if md, err := jm.Metadata(); err == nil {
		m.Attempts = int(md.NumDelivered)
		m.seq = md.Sequence.Stream
		m.Timestamp = md.Timestamp
	}
	if ms, err := strconv.ParseInt(h.Get(HeaderSent), 10, 64); err == nil {
		m.Timestamp = time.UnixMilli(ms)
	}
	if m.ID == "" {
		// Published by something other than Kumo: the stream sequence is
		// unique within the queue.
		m.ID = strconv.FormatUint(m.seq, 10)
	}
	if m.ContentType == "" {
		m.ContentType = "json"
	}
	return m
}

// dead moves m out of the queue: to the dead-letter queue when the
// consumer has one, else to the queue's dead subject. Only once that copy
// is stored is the original terminated; if storing fails, the message is
// delivered again later and the move retried, so it is never dropped.
func (c *Consumer) dead(m *Message, attempts int, reason string) {
	cfg := c.cfg
	target := DeadSubject(cfg.App, cfg.Queue)
	if cfg.DeadLetter != "" {
		target = Subject(cfg.App, cfg.DeadLetter)
	}
	nm := &nats.Msg{Subject: target, Data: m.Body, Header: nats.Header{}}
	src := m.msg.Headers()
	for _, k := range []string{HeaderID, HeaderSent, HeaderContentType} {
		if v := src.Get(k); v != "" {
			nm.Header.Set(k, v)
		}
	}
	nm.Header.Set(HeaderID, m.ID)
	nm.Header.Set(HeaderDeadQueue, cfg.Queue)
	nm.Header.Set(HeaderDeadAttempts, strconv.Itoa(attempts))
	nm.Header.Set(HeaderDeadError, reason)
	nm.Header.Set(HeaderDeadTime, strconv.FormatInt(time.Now().UnixMilli(), 10))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The id makes a repeated move (the Term below lost) store one copy.
	dedupe := fmt.Sprintf("dead-%s-%d", StreamName(cfg.App, cfg.Queue), m.seq)
	log := c.b.log.With("app", cfg.App, "queue", cfg.Queue, "message_id", m.ID, "attempts", attempts)
	if _, err := c.b.js.PublishMsg(ctx, nm, jetstream.WithMsgID(dedupe)); err != nil {
		log.Error("dead-lettering message failed; it will be delivered again", "error", err)
		_ = m.msg.NakWithDelay(5 * time.Second)
		return
	}
	_ = m.msg.Term()
	if cfg.DeadLetter != "" {
		log.Warn("message out of retries moved to the dead-letter queue", "dead_letter", cfg.DeadLetter, "reason", reason)
	} else {
		log.Warn("message out of retries kept on the queue's dead subject (no dead_letter configured; see `kumo queue dlq`)", "reason", reason)
	}
	if cfg.OnDead != nil {
		cfg.OnDead(m, reason)
	}
}

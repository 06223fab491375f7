package webapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/engine"
)

// queueSendTimeout bounds one send: the store answers in microseconds
// unless it is unreachable.
const queueSendTimeout = 15 * time.Second

// maxQueueMessageBytes is the largest message body (as in Workers).
const maxQueueMessageBytes = 128 << 10

// maxQueueBatch is the most messages sendBatch takes.
const maxQueueBatch = 100

func queueOps() []engine.Op {
	return []engine.Op{
		{Name: "op_queue_send", Fn: opQueueSend},
	}
}

// op_queue_send(binding, meta, ...bodies) sends messages through the queue
// binding env[binding]. meta is "contentType:delaySeconds" per message,
// comma-separated; each body is a string (json, text) or a Uint8Array
// (bytes). It returns a promise that settles once the store has every
// message.
func opQueueSend(c *engine.Call) error {
	h := host(c)
	name := c.String(0)
	var q binding.Queue
	if h.Bindings != nil {
		q = h.Bindings.Queues[name]
	}
	if q == nil {
		return engine.TypeError("Queue.send: env.%s is not a queue binding of this version", name)
	}
	meta := strings.Split(c.String(1), ",")
	if len(meta) != c.Len()-2 {
		return engine.TypeError("Queue.send: %d message descriptions for %d bodies", len(meta), c.Len()-2)
	}
	if len(meta) > maxQueueBatch {
		return engine.RangeError("Queue.sendBatch: %d messages in one batch, at most %d", len(meta), maxQueueBatch)
	}
	msgs := make([]binding.QueueMessage, len(meta))
	for i, m := range meta {
		ct, delay, ok := strings.Cut(m, ":")
		secs, err := strconv.Atoi(delay)
		if !ok || err != nil || secs < 0 {
			return engine.TypeError("Queue.send: bad message description %q", m)
		}
		var body []byte
		if ct == "bytes" {
			b, ok := c.Bytes(i + 2)
			if !ok {
				return engine.TypeError("Queue.send: message %d: a bytes body must be an ArrayBuffer or view", i)
			}
			body = b
		} else {
			body = []byte(c.String(i + 2))
		}
		if len(body) > maxQueueMessageBytes {
			return engine.RangeError("Queue.send: message body of %d bytes is over the limit of %d bytes", len(body), maxQueueMessageBytes)
		}
		msgs[i] = binding.QueueMessage{Body: body, ContentType: ct, Delay: time.Duration(secs) * time.Second}
	}
	p, err := c.Promise()
	if err != nil {
		return err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), queueSendTimeout)
		defer cancel()
		if err := q.Send(ctx, msgs); err != nil {
			p.Reject(fmt.Errorf("Queue.send: %w", err))
			return
		}
		p.Resolve(engine.Undefined{})
	}()
	return nil
}

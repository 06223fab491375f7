package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go/jetstream"
)

// App logs live in the stream kumo_logs, one subject per app (logs.<app>).
// The stream keeps at most LogMaxLinesPerApp lines per app and LogMaxBytes
// in all, dropping the oldest first.

const logsSubjectPrefix = "logs."

var appNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkAppName(app string) error {
	if !appNameRe.MatchString(app) {
		return fmt.Errorf("%w %q: want [a-z0-9][a-z0-9-]{0,62}", ErrInvalidAppName, app)
	}
	return nil
}

// AppendLog appends one line to app's log. It returns once the line is
// stored. A line is limited by the server's max payload (1 MiB default).
func (s *Store) AppendLog(ctx context.Context, app string, line []byte) error {
	if err := checkAppName(app); err != nil {
		return err
	}
	if _, err := s.js.Publish(ctx, logsSubjectPrefix+app, line); err != nil {
		return fmt.Errorf("appending log line for %s: %w", app, err)
	}
	return nil
}

// ReadLogs returns up to the last n lines of app's log, oldest first.
func (s *Store) ReadLogs(ctx context.Context, app string, n int) ([][]byte, error) {
	if err := checkAppName(app); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("reading logs of %s: line count %d must be positive", app, n)
	}
	r, err := s.openLogReader(ctx, app, n)
	if err != nil {
		return nil, fmt.Errorf("reading logs of %s: %w", app, err)
	}
	defer r.it.Stop()
	lines, err := r.history(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading logs of %s: %w", app, err)
	}
	return lines, nil
}

// FollowLogs streams app's log: first up to the last n lines (none when n
// is 0), then every new line as it is appended, with no gap or overlap
// between the two. Lines appended after FollowLogs returns are delivered.
// The channel is closed when ctx is done, stop is called or the store
// closes; stop may be called more than once and returns once the follower
// has finished.
func (s *Store) FollowLogs(ctx context.Context, app string, n int) (<-chan []byte, func(), error) {
	if err := checkAppName(app); err != nil {
		return nil, nil, err
	}
	if n < 0 {
		return nil, nil, fmt.Errorf("following logs of %s: line count %d must not be negative", app, n)
	}
	if err := s.startWorker(); err != nil {
		return nil, nil, fmt.Errorf("following logs of %s: %w", app, err)
	}
	fctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(s.life, cancel)
	r, err := s.openLogReader(fctx, app, n)
	if err != nil {
		stopOnClose()
		cancel()
		s.workers.Done()
		return nil, nil, fmt.Errorf("following logs of %s: %w", app, err)
	}
	out := make(chan []byte, 64)
	done := make(chan struct{})
	go func() {
		defer s.workers.Done()
		defer close(done)
		defer close(out)
		defer stopOnClose()
		defer r.it.Stop()
		send := func(line []byte) bool {
			select {
			case out <- line:
				return true
			case <-fctx.Done():
				return false
			}
		}
		lines, err := r.history(fctx)
		if err != nil {
			if fctx.Err() == nil {
				s.log.Warn("reading log history failed", "app", app, "error", err)
			}
			return
		}
		for _, line := range lines {
			if !send(line) {
				return
			}
		}
		for {
			m, err := r.it.Next(jetstream.NextContext(fctx))
			if err != nil {
				if fctx.Err() == nil {
					s.log.Warn("following logs failed", "app", app, "error", err)
				}
				return
			}
			if !send(m.Data()) {
				return
			}
		}
	}()
	stop := func() {
		cancel()
		<-done
	}
	return out, stop, nil
}

// logReader reads one app's log through an ordered consumer.
type logReader struct {
	it      jetstream.MessagesContext
	n       int    // lines of history wanted
	lastSeq uint64 // stream sequence of the app's newest line when opened; 0 if none or n is 0
}

// openLogReader positions a consumer so that history returns the last n
// lines and later reads return only lines appended after them.
func (s *Store) openLogReader(ctx context.Context, app string, n int) (*logReader, error) {
	subject := logsSubjectPrefix + app
	// The stream never holds more lines per app than this, and the
	// history ring is allocated at this size.
	n = int(min(int64(n), s.cfg.LogMaxLinesPerApp))
	r := &logReader{n: n}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if n > 0 {
		last, err := s.logs.GetLastMsgForSubject(ctx, subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			// No line yet: start at the beginning so nothing appended from
			// now on is missed.
			cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		case err != nil:
			return nil, fmt.Errorf("finding the last line: %w", err)
		default:
			// JetStream has no "last n of a subject" start position, so
			// read the app's lines from the start and keep the last n; the
			// per-app line cap bounds the scan.
			cfg.DeliverPolicy = jetstream.DeliverAllPolicy
			r.lastSeq = last.Sequence
		}
	}
	cons, err := s.logs.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating log consumer: %w", err)
	}
	// Messages creates the server-side consumer now, which fixes the start
	// position before the caller appends anything.
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("starting log consumer: %w", err)
	}
	r.it = it
	return r, nil
}

// history reads up to the newest line that existed when the reader was
// opened and returns the last n of those lines, oldest first.
func (r *logReader) history(ctx context.Context) ([][]byte, error) {
	if r.lastSeq == 0 {
		return nil, nil
	}
	ring := make([][]byte, r.n)
	count := 0
	for {
		m, err := r.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, err
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("reading log line metadata: %w", err)
		}
		ring[count%r.n] = m.Data()
		count++
		if meta.Sequence.Stream >= r.lastSeq {
			break
		}
	}
	if count <= r.n {
		return ring[:count], nil
	}
	start := count % r.n
	return append(ring[start:], ring[:start]...), nil
}

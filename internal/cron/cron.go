// Package cron fires apps' cron triggers once per tick across every node
// that shares a store.
//
// Every node computes the ticks of every active cron and, at each tick,
// publishes it to the stream kumo_cron with the message id
// "<app>/<cron key>/<tick unix seconds>": JetStream's duplicate window keeps
// the first copy and drops the other nodes'. One durable work-queue
// consumer shared by all nodes hands each stored tick to one node, which
// runs the app's scheduled handler and then acknowledges the tick. A node
// that dies while running a tick lets another take it over after AckWait.
//
// Missed ticks are not replayed in a burst: a tick is only published by a
// node that is up at its time, so ticks that fell while every node was
// down never exist; and the stream keeps one tick per cron (the newest),
// so ticks published but not yet run when the nodes went down come back
// as at most one run per cron.
package cron

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/manifest"
	"github.com/kumo-dev/kumo/internal/store"
)

// Names of the JetStream resources.
const (
	Stream        = "kumo_cron"
	subjectPrefix = "cron."
	consumerName  = "kumo"
)

// Defaults of Config.
const (
	DefaultAckWait     = time.Minute
	DefaultConcurrency = 16
	// DuplicateWindow is how long a tick's id is remembered: it must
	// exceed the clock skew between nodes plus the time to publish.
	DuplicateWindow = 5 * time.Minute
)

// Tick is one firing of one cron of one app.
type Tick struct {
	App  string `json:"app"`
	Cron string `json:"cron"` // the expression as the manifest wrote it
	// Time is when the tick was due (scheduledTime in the handler).
	Time time.Time `json:"time"`
	// Unix is the tick's cron time in unix seconds; it equals
	// Time.Unix() unless Config.Minute scales time.
	Unix int64 `json:"unix"`
}

// Runner runs one tick: the app's scheduled handler. Its error is logged;
// a failed tick is not run again (as in Workers).
type Runner func(ctx context.Context, t Tick) error

// Config configures a Scheduler.
type Config struct {
	Store  *store.Store // required
	Run    Runner       // required
	Logger *slog.Logger
	// Minute is how long one cron minute lasts in real time; default (and
	// in production always) time.Minute. Tests set it to a second, so
	// "* * * * *" fires every second; at least a second. Every node
	// sharing a store must use the same value.
	Minute time.Duration
	// AckWait is how long a node may run a tick without reporting
	// progress before another node takes it over; a node running a tick
	// reports progress every AckWait/3. Default DefaultAckWait.
	AckWait time.Duration
	// Concurrency bounds the ticks this node runs at once.
	Concurrency int
}

// Scheduler publishes the ticks of the crons it is given and runs the
// ticks the shared consumer hands it.
type Scheduler struct {
	cfg   Config
	log   *slog.Logger
	js    jetstream.JetStream
	cons  jetstream.Consumer
	clock clock

	mu   sync.Mutex
	apps map[string]*appCrons

	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// appCrons are the timers of one app's crons.
type appCrons struct {
	crons  []string
	cancel context.CancelFunc
	done   chan struct{}
}

// New provisions the stream and its consumer and starts running ticks.
func New(ctx context.Context, cfg Config) (*Scheduler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("cron: Store is required")
	case cfg.Run == nil:
		return nil, errors.New("cron: Run is required")
	case cfg.Minute != 0 && cfg.Minute < time.Second:
		return nil, fmt.Errorf("cron: Minute %v must be at least a second", cfg.Minute)
	case cfg.AckWait < 0 || cfg.Concurrency < 0:
		return nil, errors.New("cron: AckWait and Concurrency must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Minute == 0 {
		cfg.Minute = time.Minute
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	s := &Scheduler{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "cron"),
		js:    cfg.Store.JetStream(),
		clock: newClock(cfg.Minute),
		apps:  make(map[string]*appCrons),
	}
	st, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              Stream,
		Description:       "Kumo cron ticks, one subject per app cron; each tick runs on one node",
		Subjects:          []string{subjectPrefix + ">"},
		Retention:         jetstream.WorkQueuePolicy,
		Storage:           jetstream.FileStorage,
		Replicas:          cfg.Store.Replicas(),
		MaxMsgsPerSubject: 1, // only the newest tick of a cron waits
		Discard:           jetstream.DiscardOld,
		Duplicates:        DuplicateWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("provisioning stream %s: %w", Stream, err)
	}
	s.cons, err = st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "Kumo cron runner, shared by every node",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    3,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("creating consumer of stream %s: %w", Stream, err)
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.consume()
	return s, nil
}

// Close stops publishing and running ticks and waits for the ticks being
// run. Safe to call more than once.
func (s *Scheduler) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		apps := s.apps
		s.apps = map[string]*appCrons{}
		s.mu.Unlock()
		for _, a := range apps {
			a.cancel()
			<-a.done
		}
		s.cancel()
		s.wg.Wait()
	})
}

// Set makes crons the crons of app (none: the app has no crons here), each
// a standard five-field expression (see manifest.ParseCron). It replaces
// what the app had; unchanged crons keep their timers.
func (s *Scheduler) Set(app string, crons []string) error {
	type entry struct {
		expr  string
		sched manifest.Schedule
	}
	var list []entry
	for _, c := range crons {
		sched, err := manifest.ParseCron(c)
		if err != nil {
			return fmt.Errorf("scheduling crons of %s: %w", app, err)
		}
		list = append(list, entry{c, sched})
	}
	s.mu.Lock()
	old := s.apps[app]
	if old != nil && equal(old.crons, crons) {
		s.mu.Unlock()
		return nil
	}
	delete(s.apps, app)
	var a *appCrons
	if len(list) > 0 && s.life.Err() == nil {
		ctx, cancel := context.WithCancel(s.life)
		a = &appCrons{crons: append([]string(nil), crons...), cancel: cancel, done: make(chan struct{})}
		s.apps[app] = a
		var wg sync.WaitGroup
		for _, e := range list {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.timer(ctx, app, e.expr, e.sched)
			}()
		}
		go func() {
			wg.Wait()
			close(a.done)
		}()
	}
	s.mu.Unlock()
	if old != nil {
		old.cancel()
		<-old.done
	}
	return nil
}

// Crons returns the crons scheduled for app.
func (s *Scheduler) Crons(app string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[app]; a != nil {
		return append([]string(nil), a.crons...)
	}
	return nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Key is the subject token and id part of a cron expression.
func Key(expr string) string {
	sum := sha256.Sum256([]byte(expr))
	return hex.EncodeToString(sum[:8])
}

// timer publishes the ticks of one cron until ctx ends. The first tick is
// the next one after now: ticks before the node started are not its to
// publish.
func (s *Scheduler) timer(ctx context.Context, app, expr string, sched manifest.Schedule) {
	key := Key(expr)
	subject := subjectPrefix + app + "." + key
	for {
		next := sched.Next(s.clock.virtual(time.Now()).UTC())
		if next.IsZero() {
			s.log.Warn("cron never fires again", "app", app, "cron", expr)
			return
		}
		due := s.clock.real(next)
		t := time.NewTimer(time.Until(due))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		tick := Tick{App: app, Cron: expr, Time: due.UTC().Truncate(time.Millisecond), Unix: next.Unix()}
		data, _ := json.Marshal(tick)
		id := app + "/" + key + "/" + strconv.FormatInt(next.Unix(), 10)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.js.PublishMsg(pctx, &nats.Msg{Subject: subject, Data: data}, jetstream.WithMsgID(id))
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("publishing cron tick", "app", app, "cron", expr, "tick", tick.Time, "error", err)
		}
	}
}

// consume runs the ticks the shared consumer hands this node.
func (s *Scheduler) consume() {
	defer s.wg.Done()
	slots := make(chan struct{}, s.cfg.Concurrency)
	var running sync.WaitGroup
	defer running.Wait()
	backoff := 100 * time.Millisecond
	for {
		select {
		case slots <- struct{}{}:
		case <-s.life.Done():
			return
		}
		wctx, cancel := context.WithTimeout(s.life, 10*time.Second)
		batch, err := s.cons.Fetch(1, jetstream.FetchContext(wctx))
		var msgs []jetstream.Msg
		if err == nil {
			for m := range batch.Messages() {
				msgs = append(msgs, m)
			}
			err = batch.Error()
		}
		cancel()
		if s.life.Err() != nil {
			for _, m := range msgs {
				_ = m.Nak()
			}
			<-slots
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			s.log.Warn("fetching cron ticks", "error", err, "backoff", backoff)
			select {
			case <-s.life.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		} else {
			backoff = 100 * time.Millisecond
		}
		if len(msgs) == 0 {
			<-slots
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			defer func() { <-slots }()
			for _, m := range msgs {
				s.run(m)
			}
		}()
	}
}

// run runs one tick, reporting progress while it runs so no other node
// takes it over, and acknowledges it.
func (s *Scheduler) run(m jetstream.Msg) {
	var t Tick
	if err := json.Unmarshal(m.Data(), &t); err != nil {
		s.log.Error("dropping unreadable cron tick", "subject", m.Subject(), "error", err)
		_ = m.Term()
		return
	}
	stop := make(chan struct{})
	go func() {
		every := time.NewTicker(s.cfg.AckWait / 3)
		defer every.Stop()
		for {
			select {
			case <-stop:
				return
			case <-every.C:
				_ = m.InProgress()
			}
		}
	}()
	start := time.Now()
	err := s.cfg.Run(context.Background(), t)
	close(stop)
	_ = m.Ack()
	if err != nil {
		s.log.Warn("cron tick failed", "app", t.App, "cron", t.Cron, "tick", t.Time, "error", err)
		return
	}
	s.log.Debug("cron tick ran", "app", t.App, "cron", t.Cron, "tick", t.Time,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
}

// clock maps real time to cron time: the identity, or, with a scaled
// minute, a time that runs faster from a fixed origin every node shares.
type clock struct {
	scale float64 // cron seconds per real second
}

// clockOrigin is where real and scaled cron time agree.
var clockOrigin = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newClock(minute time.Duration) clock {
	return clock{scale: float64(time.Minute) / float64(minute)}
}

func (c clock) virtual(t time.Time) time.Time {
	if c.scale == 1 {
		return t
	}
	return fromOrigin(sinceOrigin(t) * c.scale)
}

func (c clock) real(v time.Time) time.Time {
	if c.scale == 1 {
		return v
	}
	return fromOrigin(sinceOrigin(v) / c.scale)
}

// sinceOrigin and fromOrigin count seconds from clockOrigin as float64
// (not time.Duration, which a scaled clock would overflow in a century).
func sinceOrigin(t time.Time) float64 {
	return float64(t.Unix()-clockOrigin.Unix()) + float64(t.Nanosecond())/1e9
}

func fromOrigin(secs float64) time.Time {
	whole := math.Floor(secs)
	return time.Unix(clockOrigin.Unix()+int64(whole), int64((secs-whole)*1e9)).UTC()
}

// Package store keeps Kumo's durable state in NATS JetStream, either on a
// server embedded in the process or on an external NATS cluster.
//
// One Store holds one client connection and, when embedding, the server. It
// provisions the buckets and streams the platform itself needs: the metadata
// KV bucket kumo_meta (see Get, Put, Watch), the object store kumo_bundles
// for version contents (see PutBlob) and the stream kumo_logs (see
// AppendLog). Other packages build their own JetStream resources (user KV,
// queues) on the handles returned by JetStream and Conn.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream resources the store provisions.
const (
	MetaBucket    = "kumo_meta"
	BundlesBucket = "kumo_bundles"
	LogsStream    = "kumo_logs"
)

// Sentinel errors. Callers test them with errors.Is; the store wraps them
// with the key or name involved.
var (
	// ErrNotFound: the key or blob does not exist (or was deleted).
	ErrNotFound = errors.New("not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("already exists")
	// ErrConflict: Update's expected revision is not the key's current one;
	// read again and retry.
	ErrConflict = errors.New("revision conflict")
	// ErrInvalidKey: a metadata key or key pattern breaks the key syntax.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidBlobName: a blob name is not a lowercase hex SHA-256.
	ErrInvalidBlobName = errors.New("invalid blob name")
	// ErrInvalidAppName: an app name breaks [a-z0-9][a-z0-9-]{0,62}.
	ErrInvalidAppName = errors.New("invalid app name")
	// ErrClosed: the store is closed (or closing).
	ErrClosed = errors.New("store closed")
)

// Store is an open connection to JetStream with the platform's buckets and
// streams provisioned. Its methods are safe for concurrent use.
type Store struct {
	cfg Config
	log *slog.Logger

	lock *dirLock       // held on DataDir while embedding
	srv  *server.Server // nil in external mode
	nc   *nats.Conn
	// connClosed is closed by the connection's closed handler, which is how
	// Close waits for a drain to finish.
	connClosed chan struct{}

	js      jetstream.JetStream
	meta    jetstream.KeyValue
	bundles jetstream.ObjectStore
	// bundlesStream is the stream behind bundles.
	bundlesStream jetstream.Stream
	logs          jetstream.Stream

	// life ends when Close starts; watchers and log followers stop on it.
	life    context.Context
	endLife context.CancelFunc
	// mu guards closed and registration in workers, so that Close never
	// waits on a WaitGroup that is still being added to.
	mu      sync.Mutex
	closed  bool
	workers sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open starts (or connects to) JetStream and provisions the store's buckets
// and streams, creating them on first use and updating their configuration
// when it changed. ctx bounds the whole start-up. On error nothing is left
// running.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "store"),
		connClosed: make(chan struct{}),
	}
	s.life, s.endLife = context.WithCancel(context.Background())
	start := time.Now()
	if err := s.open(ctx); err != nil {
		if cerr := s.Close(); cerr != nil {
			s.log.Warn("closing store after failed open", "error", cerr)
		}
		return nil, fmt.Errorf("opening store: %w", err)
	}
	mode, where := "embedded", cfg.DataDir
	if cfg.NATSURL != "" {
		mode, where = "external", cfg.NATSURL
	}
	s.log.Info("store opened", "mode", mode, "location", where,
		"domain", cfg.JetStreamDomain, "replicas", cfg.Replicas,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	if s.cfg.NATSURL == "" {
		if err := s.startServer(ctx); err != nil {
			return fmt.Errorf("starting embedded NATS server in %s: %w", s.cfg.DataDir, err)
		}
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	return s.provision(ctx)
}

func (s *Store) startServer(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	// JetStream's file store has no lock of its own: two servers on one
	// directory would corrupt it, so the first one to start holds this lock.
	lock, err := lockDir(filepath.Join(s.cfg.DataDir, "jetstream.lock"))
	if err != nil {
		return err
	}
	s.lock = lock

	opts := &server.Options{
		ServerName: "kumo",
		JetStream:  true,
		// The server appends "jetstream" to StoreDir itself, so the files
		// land in DataDir/jetstream.
		StoreDir:           s.cfg.DataDir,
		JetStreamDomain:    s.cfg.JetStreamDomain,
		JetStreamMaxMemory: s.cfg.MaxMemory,
		JetStreamMaxStore:  s.cfg.MaxStore,
		// Kumo owns the process: the server must not install signal
		// handlers. Its logs go to our slog logger (SetLoggerV2 below).
		NoSigs: true,
	}
	if s.cfg.ListenAddr == "" {
		opts.DontListen = true
	} else {
		opts.Host, opts.Port = s.cfg.listenHost, s.cfg.listenPort
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("configuring server: %w", err)
	}
	logger := &natsLogger{log: s.cfg.Logger.With("component", "nats")}
	srv.SetLoggerV2(logger, logger.log.Enabled(ctx, slog.LevelDebug), false, false)
	s.srv = srv

	// Start returns once JetStream is enabled (or has failed to be) and the
	// listener, if any, is accepting.
	srv.Start()
	if msg := logger.fatal(); msg != "" {
		return errors.New(msg)
	}
	if !srv.JetStreamEnabled() {
		return errors.New("JetStream did not start")
	}
	if !srv.ReadyForConnections(untilDeadline(ctx, 10*time.Second)) {
		return errors.New("server not ready for connections")
	}
	return nil
}

func (s *Store) connect(ctx context.Context) error {
	opts := []nats.Option{
		nats.Name("kumo"),
		nats.ClosedHandler(func(*nats.Conn) { close(s.connClosed) }),
		nats.DrainTimeout(10 * time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			s.log.Warn("nats client error", "subject", subject, "error", err)
		}),
	}
	url := s.cfg.NATSURL
	if s.srv != nil {
		opts = append(opts, nats.InProcessServer(s.srv))
	} else {
		// An external cluster may restart under us: keep reconnecting
		// rather than failing every later call.
		opts = append(opts, nats.MaxReconnects(-1), nats.Timeout(untilDeadline(ctx, 5*time.Second)),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				// err is nil when the store closes the connection itself.
				if err != nil {
					s.log.Warn("nats disconnected", "error", err)
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				s.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
			}))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connecting to NATS: %w", err)
	}
	s.nc = nc

	if s.srv == nil {
		// Requests to a domain the server does not serve time out with no
		// hint; asking the server we reached turns that into a clear error.
		plain, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("creating JetStream context: %w", err)
		}
		info, err := plain.AccountInfo(ctx)
		if err != nil {
			return fmt.Errorf("checking JetStream on %s: %w", s.cfg.NATSURL, err)
		}
		if info.Domain != s.cfg.JetStreamDomain {
			return fmt.Errorf("checking JetStream on %s: server domain is %q, JetStreamDomain is %q",
				s.cfg.NATSURL, info.Domain, s.cfg.JetStreamDomain)
		}
	}
	js, err := jetstream.NewWithDomain(nc, s.cfg.JetStreamDomain)
	if err != nil {
		return fmt.Errorf("creating JetStream context: %w", err)
	}
	s.js = js
	return nil
}

func (s *Store) provision(ctx context.Context) error {
	var err error
	s.meta, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      MetaBucket,
		Description: "Kumo platform metadata",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
	})
	if err != nil {
		return fmt.Errorf("provisioning KV bucket %s: %w", MetaBucket, err)
	}
	s.bundles, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      BundlesBucket,
		Description: "Kumo version contents, named by content hash",
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
	})
	if err != nil {
		return fmt.Errorf("provisioning object store %s: %w", BundlesBucket, err)
	}
	// The object store's own stream, for reading one-chunk blobs with a
	// single direct get (see GetBlob).
	s.bundlesStream, err = s.js.Stream(ctx, "OBJ_"+BundlesBucket)
	if err != nil {
		return fmt.Errorf("opening the stream of object store %s: %w", BundlesBucket, err)
	}
	s.logs, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              LogsStream,
		Description:       "Kumo app logs, one subject per app",
		Subjects:          []string{logsSubjectPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Replicas:          s.cfg.Replicas,
		MaxBytes:          s.cfg.LogMaxBytes,
		MaxMsgsPerSubject: s.cfg.LogMaxLinesPerApp,
		Discard:           jetstream.DiscardOld,
		// Direct gets let any replica answer reads without a consumer.
		AllowDirect: true,
	})
	if err != nil {
		return fmt.Errorf("provisioning stream %s: %w", LogsStream, err)
	}
	return nil
}

// Close stops watchers and log followers, drains the connection and, when
// embedding, shuts the server down and waits for it. It is safe to call
// after a failed Open and more than once; later calls return the first
// call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.endLife()
		s.mu.Unlock()
		s.workers.Wait()

		var errs []error
		if s.nc != nil {
			// Drain lets in-flight publishes and acknowledgements finish
			// before the connection goes away.
			if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, fmt.Errorf("draining NATS connection: %w", err))
				s.nc.Close()
			}
			<-s.connClosed
		}
		if s.srv != nil {
			s.srv.Shutdown()
			s.srv.WaitForShutdown()
		}
		if s.lock != nil {
			if err := s.lock.unlock(); err != nil {
				errs = append(errs, fmt.Errorf("releasing data directory lock: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
		s.log.Debug("store closed")
	})
	return s.closeErr
}

// JetStream returns the JetStream context (bound to the configured domain)
// for packages that manage their own streams and buckets.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Conn returns the underlying NATS connection (request-reply, core pub-sub).
func (s *Store) Conn() *nats.Conn { return s.nc }

// Meta returns the raw kumo_meta bucket, for operations the typed helpers
// do not cover (history, purge).
func (s *Store) Meta() jetstream.KeyValue { return s.meta }

// Replicas is the replica count the store uses for its own resources; other
// packages use it for theirs so a cluster keeps everything equally safe.
func (s *Store) Replicas() int { return s.cfg.Replicas }

// ClientURL is the address other NATS clients (or cluster nodes) can use to
// reach the embedded server; empty when it does not listen or when the
// store connects to an external server.
func (s *Store) ClientURL() string {
	if s.srv == nil || s.cfg.ListenAddr == "" {
		return ""
	}
	return s.srv.ClientURL()
}

// startWorker registers a background goroutine that Close must wait for.
// It fails once Close has started.
func (s *Store) startWorker() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.workers.Add(1)
	return nil
}

// untilDeadline is the time left before ctx's deadline, or def when ctx has
// none; for APIs that take a duration instead of a context.
func untilDeadline(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left > 0 {
			return left
		}
		return time.Millisecond
	}
	return def
}

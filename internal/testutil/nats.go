package testutil

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/kumo-dev/kumo/internal/store"
)

// OpenStore opens a store for t with cfg, filling in an embedded data
// directory under t.TempDir() (unless cfg.NATSURL is set) and a test
// logger, and closes it when t ends.
func OpenStore(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	if cfg.NATSURL == "" && cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = Logger(t)
	}
	s, err := store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	return s
}

// Store opens an embedded store in t.TempDir(), closed when t ends.
func Store(t testing.TB) *store.Store {
	t.Helper()
	return OpenStore(t, store.Config{})
}

// NATSServer starts a standalone JetStream server on 127.0.0.1 at a random
// port, with the store's default JetStream domain, file storage in
// t.TempDir() and no logging. It returns the client URL and a stop
// function that shuts the server down and waits for it; stop is also run
// when t ends and may be called more than once.
func NATSServer(t testing.TB) (url string, stop func()) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:               "127.0.0.1",
		Port:               server.RANDOM_PORT,
		JetStream:          true,
		JetStreamDomain:    store.DefaultJetStreamDomain,
		StoreDir:           t.TempDir(),
		JetStreamMaxMemory: 64 << 20,
		// A reservation limit, not disk actually used: it must hold the
		// store's log stream (64 MiB) plus whatever a test writes.
		JetStreamMaxStore: 1 << 30,
		NoSigs:            true,
	})
	if err != nil {
		t.Fatalf("configuring NATS server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatalf("NATS server not ready for connections")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
	}
	t.Cleanup(stop)
	return srv.ClientURL(), stop
}

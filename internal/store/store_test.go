package store_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// wait bounds every wait for an event in these tests; events arrive in
// microseconds, so only a bug reaches it.
const wait = 5 * time.Second

func mustPut(t *testing.T, s *store.Store, key, value string) uint64 {
	t.Helper()
	rev, err := s.Put(t.Context(), key, []byte(value))
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	return rev
}

func mustGet(t *testing.T, s *store.Store, key string) (string, uint64) {
	t.Helper()
	v, rev, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return string(v), rev
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	cfg := store.Config{DataDir: dir, Logger: testutil.Logger(t)}
	ctx := t.Context()

	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	mustPut(t, s, "apps.hello", "v1")
	blob := []byte("bundle contents")
	name := sha256Hex(blob)
	if _, err := s.PutBlob(ctx, name, strings.NewReader(string(blob))); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if err := s.AppendLog(ctx, "hello", []byte("line 1")); err != nil {
		t.Fatalf("AppendLog: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s.Close()
	if v, _ := mustGet(t, s, "apps.hello"); v != "v1" {
		t.Errorf("after reopen apps.hello = %q, want v1", v)
	}
	got, err := s.GetBlob(ctx, name)
	if err != nil || string(got) != string(blob) {
		t.Errorf("after reopen GetBlob = %q, %v; want %q", got, err, blob)
	}
	lines, err := s.ReadLogs(ctx, "hello", 10)
	if err != nil || len(lines) != 1 || string(lines[0]) != "line 1" {
		t.Errorf("after reopen ReadLogs = %q, %v; want [line 1]", lines, err)
	}
}

func TestCloseTwiceAndAfterFailedOpen(t *testing.T) {
	dir := t.TempDir()
	s := testutil.OpenStore(t, store.Config{DataDir: dir})

	// A second store on the same directory fails part-way through Open
	// and must leave nothing running.
	_, err := store.Open(t.Context(), store.Config{DataDir: dir, Logger: testutil.Logger(t)})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open on the same DataDir: err = %v, want 'in use'", err)
	}
	mustPut(t, s, "still.works", "yes")

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Watch(t.Context(), ">"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Watch after Close: err = %v, want ErrClosed", err)
	}
}

func TestOpenUnreachableNATS(t *testing.T) {
	url, stop := testutil.NATSServer(t)
	stop() // nothing listens there any more
	_, err := store.Open(t.Context(), store.Config{NATSURL: url, Logger: testutil.Logger(t)})
	if err == nil {
		t.Fatal("Open against a stopped server succeeded")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   store.Config
		field string
	}{
		{"no location", store.Config{}, "DataDir"},
		{"negative memory", store.Config{DataDir: "x", MaxMemory: -1}, "MaxMemory"},
		{"negative store", store.Config{DataDir: "x", MaxStore: -5}, "MaxStore"},
		{"store smaller than logs", store.Config{DataDir: "x", MaxStore: 1 << 20}, "MaxStore"},
		{"replicas embedded", store.Config{DataDir: "x", Replicas: 3}, "Replicas"},
		{"replicas too many", store.Config{NATSURL: "nats://h:4222", Replicas: 7}, "Replicas"},
		{"bad domain", store.Config{DataDir: "x", JetStreamDomain: "a.b"}, "JetStreamDomain"},
		{"bad listen", store.Config{DataDir: "x", ListenAddr: "nohostport"}, "ListenAddr"},
		{"bad listen port", store.Config{DataDir: "x", ListenAddr: "127.0.0.1:99999"}, "ListenAddr"},
		{"bad url scheme", store.Config{NATSURL: "http://h:4222"}, "NATSURL"},
		{"url without host", store.Config{NATSURL: "nats://"}, "NATSURL"},
		{"data dir with url", store.Config{NATSURL: "nats://h:4222", DataDir: "x"}, "DataDir"},
		{"listen with url", store.Config{NATSURL: "nats://h:4222", ListenAddr: ":0"}, "ListenAddr"},
		{"limits with url", store.Config{NATSURL: "nats://h:4222", MaxStore: 1 << 30}, "MaxStore"},
		{"negative log bytes", store.Config{DataDir: "x", LogMaxBytes: -1}, "LogMaxBytes"},
		{"negative log lines", store.Config{DataDir: "x", LogMaxLinesPerApp: -1}, "LogMaxLinesPerApp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(t.Context(), tc.cfg)
			if err == nil {
				t.Fatal("Open accepted an invalid config")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestExternalNATS(t *testing.T) {
	url, _ := testutil.NATSServer(t)
	s := testutil.OpenStore(t, store.Config{NATSURL: url})
	ctx := t.Context()

	if s.ClientURL() != "" {
		t.Errorf("ClientURL in external mode = %q, want empty", s.ClientURL())
	}
	if !s.Conn().IsConnected() {
		t.Fatal("connection not connected")
	}
	mustPut(t, s, "apps.hello", "external")
	if v, _ := mustGet(t, s, "apps.hello"); v != "external" {
		t.Errorf("Get = %q, want external", v)
	}
	blob := []byte("x")
	if _, err := s.PutBlob(ctx, sha256Hex(blob), strings.NewReader("x")); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if err := s.AppendLog(ctx, "hello", []byte("l")); err != nil {
		t.Fatalf("AppendLog: %v", err)
	}

	// A second store on the same server sees the same data: this is what
	// several nodes sharing one cluster rely on.
	other := testutil.OpenStore(t, store.Config{NATSURL: url})
	if v, _ := mustGet(t, other, "apps.hello"); v != "external" {
		t.Errorf("second store Get = %q, want external", v)
	}
}

func TestExternalNATSDomainMismatch(t *testing.T) {
	url, _ := testutil.NATSServer(t)
	_, err := store.Open(t.Context(), store.Config{NATSURL: url, JetStreamDomain: "elsewhere", Logger: testutil.Logger(t)})
	if err == nil || !strings.Contains(err.Error(), "domain") {
		t.Fatalf("Open with the wrong domain: err = %v, want a domain error", err)
	}
}

func TestEmbeddedListen(t *testing.T) {
	s := testutil.OpenStore(t, store.Config{ListenAddr: "127.0.0.1:0"})
	if testutil.Store(t).ClientURL() != "" {
		t.Error("a store without ListenAddr reports a ClientURL")
	}
	url := s.ClientURL()
	if url == "" || strings.HasSuffix(url, ":0") || strings.HasSuffix(url, ":4222") {
		t.Fatalf("ClientURL = %q, want a random port", url)
	}
	mustPut(t, s, "apps.hello", "over tcp")

	// An ordinary client over TCP reaches the same bucket.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	defer nc.Close()
	js, err := jetstream.NewWithDomain(nc, store.DefaultJetStreamDomain)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), store.MetaBucket)
	if err != nil {
		t.Fatalf("binding %s over TCP: %v", store.MetaBucket, err)
	}
	e, err := kv.Get(t.Context(), "apps.hello")
	if err != nil || string(e.Value()) != "over tcp" {
		t.Fatalf("Get over TCP = %v, %v", e, err)
	}
}

func TestListenAddrInUse(t *testing.T) {
	first := testutil.OpenStore(t, store.Config{ListenAddr: "127.0.0.1:0"})
	addr := strings.TrimPrefix(first.ClientURL(), "nats://")
	_, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), ListenAddr: addr, Logger: testutil.Logger(t)})
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Open on a taken address: err = %v, want a listen error", err)
	}
}

// TestCloseWithUnreadWatch pins that Close does not hang when a watcher's
// consumer stopped reading while changes kept coming.
func TestCloseWithUnreadWatch(t *testing.T) {
	s, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(context.Background(), ">"); err != nil {
		t.Fatal(err)
	}
	logs, _, err := s.FollowLogs(context.Background(), "hello", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		mustPut(t, s, "k.n"+strconv.Itoa(i), "v")
		if err := s.AppendLog(t.Context(), "hello", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	if err := testutil.Receive(t, closed, 10*time.Second, "Close to return"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The follower's channel is closed once buffered lines are drained.
	for range logs {
	}
}

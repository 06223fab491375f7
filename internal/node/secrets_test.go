package node

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/secrets"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// lockedBuf is a log sink a test can read while the node writes to it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsInEnv serves a version that declares a secret: its value is
// env.TOKEN, a new value reaches it without a deploy, a deleted one stops
// it loading, and no value is ever logged.
func TestSecretsInEnv(t *testing.T) {
	st := testutil.Store(t)
	key, _, err := secrets.EnsureKey(t.Context(), st, filepath.Join(t.TempDir(), secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	sec := secrets.NewStore(st, key)
	var logs lockedBuf
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tel, err := NewTelemetry(TelemetryConfig{Store: st, Logger: log, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Close(context.Background()) })
	rt, err := runtime.New(runtime.Config{Logger: log, Recorder: tel, Console: tel.Console})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	n, err := New(t.Context(), Config{Store: st, Runtime: rt, Telemetry: tel, Logger: log, Secrets: sec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)

	values := []string{"first-s3cret-value", "second-s3cret-value", "third-s3cret-value"}
	if _, _, err := sec.Put(t.Context(), "vault", "TOKEN", values[0]); err != nil {
		t.Fatal(err)
	}
	code := `var __kumo_main = { default: { fetch(request, env) { return new Response(env.TOKEN + "/" + env.MODE); } } };`
	data, id, err := app.EncodeContent(app.Content{Code: code, Manifest: app.Manifest{Vars: map[string]string{"MODE": "prod"}, Secrets: []string{"TOKEN"}}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(values[0])) {
		t.Fatal("the content holds the value")
	}
	if _, err := st.PutBlob(t.Context(), id, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(app.VersionRecord{ID: id, App: "vault", Created: time.Now(), Blob: id})
	if _, err := st.Put(t.Context(), app.VersionKey("vault", id), rec); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitApplied(t.Context(), setApp(t, st, "vault", nil, app.Split{Version: id, Percent: 100})); err != nil {
		t.Fatal(err)
	}
	body := func() string {
		_, _, b := get(t, srv.URL+"/vault/", "")
		return b
	}
	if got := body(); got != values[0]+"/prod" {
		t.Fatalf("first value: %q", got)
	}
	// A new value reaches the loaded version without a deploy.
	if _, _, err := sec.Put(t.Context(), "vault", "TOKEN", values[1]); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return body() == values[1]+"/prod" }, "the new value to be served")

	// Deleted: the version no longer loads, with a message naming the fix.
	if err := sec.Delete(t.Context(), "vault", "TOKEN"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		c, _, _ := get(t, srv.URL+"/vault/", "")
		return c == 500
	}, "the version to fail without its secret")
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "secret TOKEN of app vault is not set: run kumo secret put vault TOKEN")
	}, "the failure to be logged")
	// Set again: served at once, not after the failed load's retry delay.
	if _, _, err := sec.Put(t.Context(), "vault", "TOKEN", values[2]); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return body() == values[2]+"/prod" }, "the value set again to be served")

	if err := tel.Close(context.Background()); err != nil { // flush logs and usage to the store
		t.Fatal(err)
	}
	stored, err := st.ReadLogs(t.Context(), "vault", 1000)
	if err != nil {
		t.Fatal(err)
	}
	all := logs.String()
	for _, l := range stored {
		all += "\n" + string(l)
	}
	for _, v := range values {
		if strings.Contains(all, v) {
			t.Errorf("a log line holds the secret %q:\n%s", v, all)
		}
	}
}

package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// testApp answers "<env.V> <request.url>"; /log writes a console line and
// /throw throws.
const testApp = `var __kumo_main = { default: { async fetch(request, env, ctx) {
  const url = new URL(request.url);
  if (url.pathname.endsWith("/log")) console.log("hello from " + env.V);
  if (url.pathname.endsWith("/throw")) throw new Error("boom");
  return new Response(env.V + " " + request.url);
} } };`

// fixture is one node serving a store over an httptest server.
type fixture struct {
	st  *store.Store
	rt  *runtime.Runtime
	tel *Telemetry
	n   *Node
	srv *httptest.Server
}

// startNode starts a node on st the way kumo serve wires one; every part
// is closed when t ends, in the order kumo serve closes them.
func startNode(t *testing.T, st *store.Store, cfg Config) *fixture {
	t.Helper()
	log := testutil.Logger(t)
	tel, err := NewTelemetry(TelemetryConfig{Store: st, Logger: log, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tel.Close(context.Background()); err != nil {
			t.Errorf("closing telemetry: %v", err)
		}
	})
	rt, err := runtime.New(runtime.Config{Logger: log, Spares: 1, Recorder: tel, Console: tel.Console})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	cfg.Store, cfg.Runtime, cfg.Telemetry, cfg.Logger = st, rt, tel, log
	n, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return &fixture{st: st, rt: rt, tel: tel, n: n, srv: srv}
}

// putVersion stores a version of appName the way the control plane does
// (content blob, then version record) and returns its id.
func putVersion(t testing.TB, st *store.Store, appName, code string, vars map[string]string) string {
	t.Helper()
	data, id, err := app.EncodeContent(app.Content{Code: code, Manifest: app.Manifest{Vars: vars}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutBlob(context.Background(), id, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(app.VersionRecord{ID: id, App: appName, Created: time.Now(), Size: int64(len(data)), Blob: id, Vars: vars})
	if _, err := st.Put(context.Background(), app.VersionKey(appName, id), rec); err != nil {
		t.Fatal(err)
	}
	return id
}

// setApp writes appName's record with hosts and traffic split (one
// read-modify-write, as activation does) and returns its revision.
func setApp(t testing.TB, st *store.Store, appName string, hosts []string, active ...app.Split) uint64 {
	t.Helper()
	ctx := context.Background()
	for {
		rec := app.AppRecord{Name: appName, Created: time.Now()}
		old, rev, err := st.Get(ctx, app.AppKey(appName))
		if err == nil {
			if err := json.Unmarshal(old, &rec); err != nil {
				t.Fatal(err)
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		rec.Hosts, rec.Active, rec.Updated = hosts, active, time.Now()
		val, _ := json.Marshal(rec)
		newRev, err := st.Update(ctx, app.AppKey(appName), val, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return newRev
	}
}

// deploy stores a version of testApp with V=v and makes it appName's only
// active version.
func deploy(t testing.TB, st *store.Store, appName, v string, hosts ...string) (id string, rev uint64) {
	t.Helper()
	id = putVersion(t, st, appName, testApp, map[string]string{"V": v})
	return id, setApp(t, st, appName, hosts, app.Split{Version: id, Percent: 100})
}

func get(t testing.TB, url string, host string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

func TestServePathFamily(t *testing.T) {
	st := testutil.Store(t)
	id, _ := deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{})
	if got := f.n.Loaded("hello"); len(got) != 0 {
		t.Fatalf("loaded before any request: %v", got)
	}
	code, _, body := get(t, f.srv.URL+"/hello/anything?x=1", "")
	// The app sees the URL the client used, /hello prefix included.
	if want := "one " + f.srv.URL + "/hello/anything?x=1"; code != 200 || body != want {
		t.Fatalf("GET /hello/anything = %d %q, want 200 %q", code, body, want)
	}
	if got := f.n.Loaded("hello"); len(got) != 1 || got[0] != id {
		t.Errorf("loaded = %v, want [%s]", got, id)
	}
	code, _, body = get(t, f.srv.URL+"/hello", "")
	if code != 200 || body != "one "+f.srv.URL+"/hello" {
		t.Errorf("GET /hello = %d %q", code, body)
	}
	// The lazy load started an instance: one cold start, then warm.
	waitCount(t, f.tel.metrics.requests.WithLabelValues("hello", "ok"), 2, "kumo_requests_total{ok}")
	if got := promtest.ToFloat64(f.tel.metrics.coldStarts.WithLabelValues("hello")); got != 1 {
		t.Errorf("kumo_cold_starts_total = %v, want 1", got)
	}
}

func TestHostRouting(t *testing.T) {
	st := testutil.Store(t)
	deploy(t, st, "api", "api", "api.example.com")
	deploy(t, st, "web", "web")
	f := startNode(t, st, Config{})
	for _, tc := range []struct{ host, path, want string }{
		{"api.example.com", "/users/1", "api http://api.example.com/users/1"},
		{"API.Example.com:8787", "/", "api http://API.Example.com:8787/"},
		// A claimed host is the app's whole site, whatever the path.
		{"api.example.com", "/web/x", "api http://api.example.com/web/x"},
		{"other.example.com", "/web/x", "web http://other.example.com/web/x"},
		{"other.example.com", "/api/x", "api http://other.example.com/api/x"},
	} {
		code, _, body := get(t, f.srv.URL+tc.path, tc.host)
		if code != 200 || body != tc.want {
			t.Errorf("GET %s%s = %d %q, want 200 %q", tc.host, tc.path, code, body, tc.want)
		}
	}
}

func TestUnknownApp(t *testing.T) {
	st := testutil.Store(t)
	deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{})
	for path, name := range map[string]string{"/nope/x": "nope", "/": "", "/Hello/": "Hello"} {
		code, h, body := get(t, f.srv.URL+path, "")
		if code != 404 || h.Get(runtime.ErrorHeader) != "no-app" || body != fmt.Sprintf("no app %q here\n", name) {
			t.Errorf("GET %s = %d %s=%q %q", path, code, runtime.ErrorHeader, h.Get(runtime.ErrorHeader), body)
		}
	}
}

func TestConcurrentFirstRequestsLoadOnce(t *testing.T) {
	st := testutil.Store(t)
	deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if code, _, body := get(t, f.srv.URL+"/hello/", ""); code != 200 {
				t.Errorf("GET = %d %q", code, body)
			}
		})
	}
	wg.Wait()
	if got := promtest.ToFloat64(f.tel.metrics.versionLoads.WithLabelValues("hello", "ok")); got != 1 {
		t.Errorf("version loaded %v times, want 1", got)
	}
}

func TestSplit(t *testing.T) {
	st := testutil.Store(t)
	a := putVersion(t, st, "hello", testApp, map[string]string{"V": "a"})
	b := putVersion(t, st, "hello", testApp, map[string]string{"V": "b"})
	setApp(t, st, "hello", nil, app.Split{Version: b, Percent: 10}, app.Split{Version: a, Percent: 90})
	f := startNode(t, st, Config{})
	const total = 1000
	counts := map[string]int{}
	for range total {
		_, _, body := get(t, f.srv.URL+"/hello/", "")
		v, _, _ := strings.Cut(body, " ")
		counts[v]++
	}
	if counts["a"]+counts["b"] != total || counts["b"] < total*5/100 || counts["b"] > total*15/100 {
		t.Errorf("1000 requests at 10%% to b went %v", counts)
	}
}

func TestRollbackSwitchesOnNextRequest(t *testing.T) {
	st := testutil.Store(t)
	one, _ := deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{})
	if _, _, body := get(t, f.srv.URL+"/hello/", ""); !strings.HasPrefix(body, "one ") {
		t.Fatalf("first version answered %q", body)
	}
	two, rev := deploy(t, st, "hello", "two")
	if err := f.n.WaitApplied(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	if _, _, body := get(t, f.srv.URL+"/hello/", ""); !strings.HasPrefix(body, "two ") {
		t.Fatalf("after deploy, answered %q", body)
	}
	// The old version left the split: it is unloaded.
	if got := f.n.Loaded("hello"); len(got) != 1 || got[0] != two {
		t.Errorf("loaded after deploy = %v, want [%s]", got, two)
	}
	rev = setApp(t, st, "hello", nil, app.Split{Version: one, Percent: 100})
	if err := f.n.WaitApplied(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	if _, _, body := get(t, f.srv.URL+"/hello/", ""); !strings.HasPrefix(body, "one ") {
		t.Fatalf("after rollback, answered %q", body)
	}
	// Deleting the app record stops serving it.
	if err := st.Delete(t.Context(), app.AppKey("hello")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		code, _, _ := get(t, f.srv.URL+"/hello/", "")
		return code == 404
	}, "deleted app still served")
	if got := f.n.Loaded("hello"); len(got) != 0 {
		t.Errorf("deleted app still loaded: %v", got)
	}
}

func TestInFlightRequestFinishesOnOldVersion(t *testing.T) {
	st := testutil.Store(t)
	slow := `var __kumo_main = { default: { async fetch(request, env) {
	  if (new URL(request.url).pathname.endsWith("/slow")) await new Promise(r => setTimeout(r, 300));
	  return new Response(env.V);
	} } };`
	one := putVersion(t, st, "hello", slow, map[string]string{"V": "one"})
	setApp(t, st, "hello", nil, app.Split{Version: one, Percent: 100})
	f := startNode(t, st, Config{})
	get(t, f.srv.URL+"/hello/", "") // load it
	// The handler may still be releasing its reference after the client
	// has the response.
	testutil.Eventually(t, 5*time.Second, func() bool { return inFlight(f.n, "hello", one) == 0 }, "first request never finished")
	done := make(chan string)
	go func() {
		_, _, body := get(t, f.srv.URL+"/hello/slow", "")
		done <- body
	}()
	testutil.Eventually(t, 5*time.Second, func() bool {
		return inFlight(f.n, "hello", one) > 0
	}, "slow request never started")
	two := putVersion(t, st, "hello", slow, map[string]string{"V": "two"})
	rev := setApp(t, st, "hello", nil, app.Split{Version: two, Percent: 100})
	if err := f.n.WaitApplied(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	if _, _, body := get(t, f.srv.URL+"/hello/", ""); body != "two" {
		t.Errorf("new request answered %q, want two", body)
	}
	if body := testutil.Receive(t, done, 5*time.Second); body != "one" {
		t.Errorf("in-flight request answered %q, want one", body)
	}
}

// waitCount waits until a counter reaches want: a client can have the
// whole response before the handler returns and its usage is recorded.
func waitCount(t *testing.T, c prometheus.Collector, want float64, what string) {
	t.Helper()
	var got float64
	testutil.Eventually(t, 5*time.Second, func() bool {
		got = promtest.ToFloat64(c)
		return got == want
	}, "%s = %v, want %v", what, got, want)
}

// inFlight is how many requests are running on a loaded version.
func inFlight(n *Node, appName, id string) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a := n.apps[appName]; a != nil {
		if v := a.versions[id]; v != nil {
			if ref := v.cur.Load(); ref != nil {
				return ref.refs.Load() - 1
			}
		}
	}
	return 0
}

func TestIdleVersionDropped(t *testing.T) {
	st := testutil.Store(t)
	id, _ := deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{IdleVersion: 500 * time.Millisecond})
	get(t, f.srv.URL+"/hello/", "")
	if got := f.n.Loaded("hello"); len(got) != 1 || got[0] != id {
		t.Fatalf("loaded = %v", got)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(f.n.Loaded("hello")) == 0 }, "idle version not dropped")
	// The next request loads it again: a second cold start.
	if code, _, body := get(t, f.srv.URL+"/hello/", ""); code != 200 || !strings.HasPrefix(body, "one ") {
		t.Fatalf("after drop: %d %q", code, body)
	}
	waitCount(t, f.tel.metrics.coldStarts.WithLabelValues("hello"), 2, "kumo_cold_starts_total")
	if got := promtest.ToFloat64(f.tel.metrics.versionLoads.WithLabelValues("hello", "ok")); got != 2 {
		t.Errorf("kumo_version_loads_total = %v, want 2", got)
	}
}

func TestBrokenVersionAnswersLoadFailed(t *testing.T) {
	st := testutil.Store(t)
	id := putVersion(t, st, "bad", "this is not javascript (", nil)
	setApp(t, st, "bad", nil, app.Split{Version: id, Percent: 100})
	f := startNode(t, st, Config{})
	code, h, body := get(t, f.srv.URL+"/bad/", "")
	if code != 500 || h.Get(runtime.ErrorHeader) != "load-failed" || !strings.Contains(body, app.ShortID(id)) {
		t.Errorf("GET = %d %q %q", code, h.Get(runtime.ErrorHeader), body)
	}
	// The failure is in the app's log.
	testutil.Eventually(t, 5*time.Second, func() bool {
		lines, err := st.ReadLogs(t.Context(), "bad", 10)
		return err == nil && len(lines) > 0 && strings.Contains(string(lines[0]), "loading version failed")
	}, "load failure not logged")
}

func TestLogs(t *testing.T) {
	st := testutil.Store(t)
	id, _ := deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{})
	get(t, f.srv.URL+"/hello/log", "")
	if code, _, _ := get(t, f.srv.URL+"/hello/throw", ""); code != 500 {
		t.Errorf("throw answered %d", code)
	}
	var lines []LogLine
	testutil.Eventually(t, 5*time.Second, func() bool {
		raw, err := st.ReadLogs(t.Context(), "hello", 10)
		if err != nil || len(raw) < 2 {
			return false
		}
		lines = nil
		for _, r := range raw {
			var l LogLine
			if err := json.Unmarshal(r, &l); err != nil {
				t.Fatalf("log line %s: %v", r, err)
			}
			lines = append(lines, l)
		}
		return true
	}, "log lines not stored")
	c, p := lines[0], lines[1]
	if c.Message != "hello from one" || c.Level != "log" && c.Level != "info" || c.App != "hello" || c.Version != id || c.RequestID == "" || c.Source != "" {
		t.Errorf("console line = %+v", c)
	}
	if p.Level != "error" || p.Source != "platform" || !strings.Contains(p.Message, "boom") || p.RequestID == "" {
		t.Errorf("platform line = %+v", p)
	}
}

func TestLogBufferFullDropsInsteadOfBlocking(t *testing.T) {
	st := testutil.Store(t)
	tel, err := NewTelemetry(TelemetryConfig{Store: st, Logger: testutil.Logger(t), LogBuffer: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close(context.Background())
	start := time.Now()
	for range 10000 {
		tel.Console(runtime.ConsoleLine{App: "hello", Level: "log", Message: "x", Time: time.Now()})
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("10000 console lines took %v", time.Since(start))
	}
	if tel.LogsDropped() == 0 {
		t.Error("no line dropped with a buffer of 1")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	st := testutil.Store(t)
	deploy(t, st, "hello", "one")
	f := startNode(t, st, Config{})
	get(t, f.srv.URL+"/hello/", "")
	get(t, f.srv.URL+"/nope/", "")
	waitCount(t, f.tel.metrics.requests.WithLabelValues("hello", "ok"), 1, "kumo_requests_total{ok}")
	rec := httptest.NewRecorder()
	f.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`kumo_requests_total{app="hello",outcome="ok"} 1`,
		`kumo_requests_total{app="",outcome="no-app"} 1`,
		`kumo_cold_starts_total{app="hello"} 1`,
		`kumo_instances{app="hello"} 1`,
		`kumo_request_duration_seconds_count{app="hello"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestUsageFromTwoNodes(t *testing.T) {
	st := testutil.Store(t)
	id, _ := deploy(t, st, "hello", "one")
	a := startNode(t, st, Config{})
	b := startNode(t, st, Config{})
	// Both nodes serve and flush at the same time, so their read-add-write
	// cycles on the one usage key conflict and must retry.
	const perNode = 60
	var wg sync.WaitGroup
	var bytesOut sync.Map
	for i, f := range []*fixture{a, b} {
		wg.Go(func() {
			n := 0
			for j := range perNode {
				_, _, body := get(t, f.srv.URL+"/hello/", "")
				n += len(body)
				if j%5 == 0 {
					if err := f.tel.Flush(t.Context()); err != nil {
						t.Errorf("flush: %v", err)
					}
				}
			}
			bytesOut.Store(i, n)
		})
	}
	wg.Wait()
	for _, f := range []*fixture{a, b} {
		waitCount(t, f.tel.metrics.requests.WithLabelValues("hello", "ok"), perNode, "kumo_requests_total{ok}")
	}
	for _, f := range []*fixture{a, b} {
		wg.Go(func() {
			if err := f.tel.Flush(t.Context()); err != nil {
				t.Errorf("flush: %v", err)
			}
		})
	}
	wg.Wait()
	raw, _, err := st.Get(t.Context(), app.UsageKey("hello", id))
	if err != nil {
		t.Fatal(err)
	}
	var u app.UsageTotals
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatal(err)
	}
	wantOut := int64(0)
	bytesOut.Range(func(_, v any) bool { wantOut += int64(v.(int)); return true })
	if u.Requests != 2*perNode || u.Errors != 0 || u.ColdStarts != 2 || u.BytesOut != wantOut {
		t.Errorf("usage = %+v, want %d requests, 0 errors, 2 cold starts, %d bytes out", u, 2*perNode, wantOut)
	}
	if u.WallUs <= 0 || u.CPUUs <= 0 || u.MemByteMs <= 0 {
		t.Errorf("usage = %+v, want positive wall, cpu and memory", u)
	}
}

func TestUsageFlushedOnClose(t *testing.T) {
	st := testutil.Store(t)
	id, _ := deploy(t, st, "hello", "one")
	log := testutil.Logger(t)
	tel, err := NewTelemetry(TelemetryConfig{Store: st, Logger: log, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(runtime.Config{Logger: log, Recorder: tel, Console: tel.Console})
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(t.Context(), Config{Store: st, Runtime: rt, Telemetry: tel, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n)
	for range 3 {
		get(t, srv.URL+"/hello/", "")
	}
	get(t, srv.URL+"/hello/throw", "")
	srv.Close()
	n.Close()
	rt.Close()
	if err := tel.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw, _, err := st.Get(t.Context(), app.UsageKey("hello", id))
	if err != nil {
		t.Fatal(err)
	}
	var u app.UsageTotals
	_ = json.Unmarshal(raw, &u)
	if u.Requests != 4 || u.Errors != 1 || u.ColdStarts != 1 {
		t.Errorf("usage = %+v, want 4 requests, 1 error, 1 cold start", u)
	}
}

func TestNodeFollowsAppsAddedLater(t *testing.T) {
	st := testutil.Store(t)
	f := startNode(t, st, Config{})
	if code, _, _ := get(t, f.srv.URL+"/late/", ""); code != 404 {
		t.Fatalf("before deploy: %d", code)
	}
	_, rev := deploy(t, st, "late", "one", "late.example.com")
	if err := f.n.WaitApplied(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	if code, _, body := get(t, f.srv.URL+"/", "late.example.com"); code != 200 || !strings.HasPrefix(body, "one ") {
		t.Errorf("after deploy: %d %q", code, body)
	}
}

// BenchmarkServeWarm measures the node's own overhead on a warm request
// among many apps (router, split, pool reference), with the JavaScript
// handler included.
//
//	go test ./internal/node -run '^$' -bench ServeWarm -benchtime 2s
func BenchmarkServeWarm(b *testing.B) {
	st := testutil.Store(b)
	const apps = 100
	id := putVersion(b, st, "a0", testApp, map[string]string{"V": "x"})
	for i := range apps {
		setApp(b, st, fmt.Sprintf("a%d", i), nil, app.Split{Version: id, Percent: 100})
	}
	log := testutil.Logger(b)
	tel, _ := NewTelemetry(TelemetryConfig{Store: st, Logger: log})
	defer tel.Close(context.Background())
	rt, _ := runtime.New(runtime.Config{Logger: log, Recorder: tel, Console: tel.Console})
	defer rt.Close()
	n, err := New(b.Context(), Config{Store: st, Runtime: rt, Telemetry: tel, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	req := httptest.NewRequest("GET", "/a7/x", nil)
	n.ServeHTTP(httptest.NewRecorder(), req)
	b.Run(fmt.Sprintf("apps=%d", apps), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			n.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
}

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/testutil"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// echoApp answers "<env.V> <request.url>".
const echoApp = `var __kumo_main = { default: { async fetch(request, env) {
  return new Response(env.V + " " + request.url);
} } };`

// deployBundle deploys echoApp with V=v through the control API and
// returns the version id.
func deployBundle(t *testing.T, c kumov1connect.ControlClient, appName, v string) string {
	t.Helper()
	res, err := c.Deploy(t.Context(), connect.NewRequest(&kumov1.DeployRequest{
		App:    appName,
		Source: &kumov1.DeployRequest_Bundle{Bundle: &kumov1.Bundle{Code: echoApp}},
		Vars:   map[string]string{"V": v},
	}))
	if err != nil {
		t.Fatalf("deploying %s: %v", appName, err)
	}
	return res.Msg.GetVersion()
}

// waitBody polls url until it answers 200 with a body starting with
// prefix.
func waitBody(t *testing.T, url, prefix string) {
	t.Helper()
	var code int
	var body string
	testutil.Eventually(t, 10*time.Second, func() bool {
		code, body = get(t, url)
		return code == 200 && strings.HasPrefix(body, prefix)
	}, "GET %s: want 200 %q..., last got %d %q", url, prefix, code, body)
}

func usageOf(t *testing.T, c kumov1connect.ControlClient, appName string) *kumov1.Usage {
	t.Helper()
	res, err := c.GetUsage(t.Context(), connect.NewRequest(&kumov1.GetUsageRequest{App: appName}))
	if err != nil {
		t.Fatalf("usage of %s: %v", appName, err)
	}
	total := &kumov1.Usage{}
	for _, u := range res.Msg.GetVersions() {
		total.Requests += u.GetRequests()
		total.ColdStarts += u.GetColdStarts()
		total.Errors += u.GetErrors()
	}
	return total
}

func TestServeRestartKeepsState(t *testing.T) {
	needBinary(t)
	s := startServer(t, "")
	if !strings.Contains(s.out.String(), "admin token written to "+s.data+"/admin.token") {
		t.Errorf("start did not say where the admin token is:\n%s", s.out.String())
	}
	if code, body := get(t, s.url("/hello/x")); code != 404 || body != "no app \"hello\" here\n" {
		t.Fatalf("before deploy: %d %q", code, body)
	}
	c := s.client()
	one := deployBundle(t, c, "hello", "one")
	waitBody(t, s.url("/hello/x?y=1"), "one http://"+s.addr+"/hello/x?y=1")
	for range 4 {
		get(t, s.url("/hello/x"))
	}
	two := deployBundle(t, c, "hello", "two")
	waitBody(t, s.url("/hello/"), "two ")

	s.restart()
	// Apps, versions, the token and usage survive the restart; the app
	// serves without a redeploy.
	if code, body := get(t, s.url("/hello/again")); code != 200 || body != "two http://"+s.addr+"/hello/again" {
		t.Fatalf("after restart: %d %q", code, body)
	}
	vs, err := c.ListVersions(t.Context(), connect.NewRequest(&kumov1.ListVersionsRequest{App: "hello"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(vs.Msg.GetVersions()); n != 2 {
		t.Errorf("after restart: %d versions, want 2", n)
	}
	if u := usageOf(t, c, "hello"); u.GetRequests() < 6 || u.GetColdStarts() < 2 {
		t.Errorf("after restart: usage %v, want at least 6 requests and 2 cold starts", u)
	}

	// Rollback switches the next requests to the old version.
	if _, err := c.Rollback(t.Context(), connect.NewRequest(&kumov1.RollbackRequest{App: "hello", Version: one})); err != nil {
		t.Fatal(err)
	}
	waitBody(t, s.url("/hello/"), "one ")
	s.restart()
	waitBody(t, s.url("/hello/"), "one ")

	if _, err := c.DeleteApp(t.Context(), connect.NewRequest(&kumov1.DeleteAppRequest{App: "hello"})); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		code, _ := get(t, s.url("/hello/"))
		return code == 404
	}, "deleted app still served")
	_ = two
}

func TestServeMetrics(t *testing.T) {
	needBinary(t)
	s := startServer(t, "")
	deployBundle(t, s.client(), "hello", "one")
	waitBody(t, s.url("/hello/"), "one ")
	code, body := get(t, s.controlURL()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{`kumo_requests_total{app="hello",outcome="ok"}`, `kumo_cold_starts_total{app="hello"} 1`, `kumo_instances{app="hello"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServeExternalNATS runs two nodes on one NATS server outside them:
// a deploy through one is served by both, and their usage adds up.
func TestServeExternalNATS(t *testing.T) {
	needBinary(t)
	url, _ := testutil.NATSServer(t)
	a := startServer(t, "", "--nats", url)
	b := startServer(t, "", "--nats", url)
	deployBundle(t, a.client(), "hello", "one")
	waitBody(t, a.url("/hello/"), "one http://"+a.addr+"/hello/")
	waitBody(t, b.url("/hello/"), "one http://"+b.addr+"/hello/")
	const each = 20
	for range each - 1 {
		for _, s := range []*server{a, b} {
			if code, _ := get(t, s.url("/hello/")); code != 200 {
				t.Fatalf("GET on %s: %d", s.addr, code)
			}
		}
	}
	// Stopping flushes each node's usage into the shared store.
	b.stop()
	a.restart()
	if u := usageOf(t, a.client(), "hello"); u.GetRequests() != 2*each || u.GetColdStarts() != 2 {
		t.Errorf("usage from two nodes = %v, want %d requests and 2 cold starts", u, 2*each)
	}
}

// TestServeShutdownFinishesInFlight checks a SIGTERM lets a running
// request finish before the node exits.
func TestServeShutdownFinishesInFlight(t *testing.T) {
	needBinary(t)
	s := startServer(t, "")
	c := s.client()
	_, err := c.Deploy(t.Context(), connect.NewRequest(&kumov1.DeployRequest{
		App: "slow",
		Source: &kumov1.DeployRequest_Bundle{Bundle: &kumov1.Bundle{Code: `var __kumo_main = { default: { async fetch(request) {
		  if (new URL(request.url).pathname === "/slow/wait") {
		    console.log("waiting");
		    await new Promise(r => setTimeout(r, 1500));
		  }
		  return new Response("done");
		} } };`}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	waitBody(t, s.url("/slow/"), "done")
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(s.url("/slow/wait"))
		if err != nil {
			got <- err.Error()
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		got <- fmt.Sprint(res.StatusCode, " ", string(body), " ", err)
	}()
	// The handler logs before it waits: once the line is in the app's log,
	// the request is in flight.
	testutil.Eventually(t, 10*time.Second, func() bool {
		res, err := c.Logs(t.Context(), connect.NewRequest(&kumov1.LogsRequest{App: "slow"}))
		return err == nil && len(res.Msg.GetLines()) > 0 && strings.Contains(res.Msg.GetLines()[0], "waiting")
	}, "slow request never started")
	s.stop()
	if r := testutil.Receive(t, got, 10*time.Second); r != "200 done <nil>" {
		t.Errorf("in-flight request during shutdown: %s", r)
	}
}

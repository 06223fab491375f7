package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// putBundled stores a version of appName bundled from src (its index.js)
// with manifest m, as the control plane does, and returns its id.
func putBundled(t *testing.T, st *store.Store, appName, src string, m app.Manifest) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := bundle.Build(bundle.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	data, id, err := app.EncodeContent(app.Content{Code: res.Code, SourceMap: res.SourceMapJSON, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutBlob(context.Background(), id, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(app.VersionRecord{ID: id, App: appName, Created: time.Now(), Size: int64(len(data)), Blob: id})
	if _, err := st.Put(context.Background(), app.VersionKey(appName, id), rec); err != nil {
		t.Fatal(err)
	}
	return id
}

// billingApp is version v of the called app: a fetch handler that echoes
// its request body and an RPC entrypoint.
func billingApp(v string) string {
	return `import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async fetch(request) {
    return new Response(request.body, { headers: { "x-version": "` + v + `", "x-seen": request.headers.get("x-order") ?? "" } });
  }
  version() { return "` + v + `"; }
  spin() { for (;;) {} }
}
export class Billing extends WorkerEntrypoint {
  charge(cents, at) { return { cents, at, by: this.env.WHO }; }
}`
}

// shopApp calls billing through its bindings: / streams its request body
// to billing's fetch handler and billing's response body back, /rpc charges, /versions counts the
// versions n RPC calls reached, /spin runs into billing's CPU limit, /ghost
// calls an app that does not exist.
const shopApp = `export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/shop/") {
      // Read whole first: net/http closes an HTTP/1 request body once the
      // response head is out, so it cannot stream through to the answer.
      const data = new Uint8Array(await request.arrayBuffer());
      const body = new ReadableStream({
        start(c) { for (let i = 0; i < data.length; i += 65536) c.enqueue(data.subarray(i, i + 65536)); c.close(); },
      });
      const res = await env.BILLING.fetch("http://billing/echo", { method: "POST", body, duplex: "half", headers: { "x-order": "7" } });
      return new Response(res.body, { headers: { "x-version": res.headers.get("x-version"), "x-seen": res.headers.get("x-seen") } });
    }
    if (path === "/shop/rpc") {
      const r = await env.PAY.charge(1250, new Date(0));
      return Response.json({ cents: r.cents, at: r.at instanceof Date && r.at.getTime(), by: r.by });
    }
    if (path === "/shop/versions") {
      const seen = new Set();
      for (let i = 0; i < 40; i++) seen.add(await env.BILLING.version());
      return new Response([...seen].sort().join(","));
    }
    try {
      await (path === "/shop/spin" ? env.BILLING.spin() : env.GHOST.anything());
      return new Response("no error");
    } catch (e) {
      return new Response(e.name + "|" + e.reason + "|" + e.message, { status: 502 });
    }
  },
};`

// TestServiceBindingsThroughNode: a service binding reaches the called
// app's active version through the node (its traffic split honoured), by
// fetch with bodies streaming both ways and by RPC; a missing app fails at
// call time; a callee stopped by its CPU limit fails the call, not the
// caller; and the usage of each app is recorded under that app.
func TestServiceBindingsThroughNode(t *testing.T) {
	st := testutil.Store(t)
	limits := app.Limits{CPUMs: 30}
	b1 := putBundled(t, st, "billing", billingApp("v1"), app.Manifest{Limits: limits, Vars: map[string]string{"WHO": "billing"}})
	setApp(t, st, "billing", nil, app.Split{Version: b1, Percent: 100})
	shop := putBundled(t, st, "shop", shopApp, app.Manifest{Services: []app.ServiceBinding{
		{Binding: "BILLING", App: "billing"},
		{Binding: "PAY", App: "billing", Entrypoint: "Billing"},
		{Binding: "GHOST", App: "ghost"},
	}})
	setApp(t, st, "shop", nil, app.Split{Version: shop, Percent: 100})
	f := startNode(t, st, Config{})

	// A body larger than one chunk goes to billing and back.
	big := strings.Repeat("0123456789abcdef", 1<<14) // 256 KiB
	res, err := f.srv.Client().Post(f.srv.URL+"/shop/", "text/plain", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != 200 || body != big || res.Header.Get("X-Version") != "v1" || res.Header.Get("X-Seen") != "7" {
		t.Errorf("fetch: %d %v, body of %d bytes (equal: %v)", res.StatusCode, res.Header, len(body), body == big)
	}

	if _, _, body := get(t, f.srv.URL+"/shop/rpc", ""); body != `{"cents":1250,"at":0,"by":"billing"}` {
		t.Errorf("rpc: %s", body)
	}
	if code, _, body := get(t, f.srv.URL+"/shop/ghost", ""); code != 502 ||
		body != `Error|no-app|env.GHOST.anything(): app "ghost": no such app on this node (no-app)` {
		t.Errorf("missing app: %d %s", code, body)
	}
	if code, _, body := get(t, f.srv.URL+"/shop/spin", ""); code != 502 || !strings.HasPrefix(body, "Error|exceeded-cpu|") {
		t.Errorf("callee over its CPU limit: %d %s", code, body)
	}

	// A second version takes half the traffic: calls reach both.
	b2 := putBundled(t, st, "billing", billingApp("v2"), app.Manifest{Limits: limits})
	rev := setApp(t, st, "billing", nil, app.Split{Version: b1, Percent: 50}, app.Split{Version: b2, Percent: 50})
	if err := f.n.WaitApplied(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	if _, _, body := get(t, f.srv.URL+"/shop/versions", ""); body != "v1,v2" {
		t.Errorf("versions reached under a 50/50 split: %q", body)
	}

	// Usage is recorded once each invocation is over, after its response.
	waitCount(t, f.tel.metrics.requests.WithLabelValues("shop", "ok"), 5, "shop requests")
	waitCount(t, f.tel.metrics.requests.WithLabelValues("billing", "ok"), 42, "billing calls")
	waitCount(t, f.tel.metrics.requests.WithLabelValues("billing", "exceeded-cpu"), 1, "billing calls over the CPU limit")
	if err := f.tel.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	usage := func(appName, id string) app.UsageTotals {
		raw, _, err := st.Get(t.Context(), app.UsageKey(appName, id))
		if err != nil {
			t.Fatalf("usage of %s: %v", appName, err)
		}
		var u app.UsageTotals
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := usage("shop", shop); u.Requests != 5 || u.Errors != 0 {
		t.Errorf("shop usage %+v: want 5 requests, none failed", u)
	}
	// billing v1: the fetch, the charge and the spin (failed), then its
	// share of the 40 version calls.
	u1, u2 := usage("billing", b1), usage("billing", b2)
	if u1.Requests+u2.Requests != 3+40 || u1.Errors != 1 || u2.Requests == 0 || u1.BytesIn != int64(len(big)) {
		t.Errorf("billing usage v1 %+v, v2 %+v: want 43 calls, 1 failed, %d bytes in", u1, u2, len(big))
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

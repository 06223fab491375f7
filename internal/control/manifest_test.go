package control_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/control"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// secretsClient is a kumo.v1.Secrets client speaking JSON with token.
func (e *env) secretsClient(token string) kumov1connect.SecretsClient {
	hc := &http.Client{Transport: &http.Transport{}}
	e.t.Cleanup(hc.CloseIdleConnections)
	return kumov1connect.NewSecretsClient(hc, e.srv.URL, connect.WithInterceptors(bearer(token)), connect.WithProtoJSON())
}

// withManifest attaches a kumo.yaml to a deploy request.
func withManifest(r *kumov1.DeployRequest, yaml string) *kumov1.DeployRequest {
	r.Manifest = &kumov1.Manifest{File: "kumo.yaml", Content: []byte(yaml)}
	return r
}

// storedContent reads a version's content from the store.
func (e *env) storedContent(id string) app.Content {
	e.t.Helper()
	data, err := e.st.GetBlob(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := app.DecodeContent(data)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

const photosManifest = `name: photos
limits: { cpu_ms: 50, timeout: 5s }
vars: { GREETING: hello, MODE: prod }
secrets: [ STRIPE_KEY ]
services:
  - binding: BILLING
    app: billing
hosts: [ Photos.Example.com ]
`

func TestDeployWithManifest(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx, c, sc := t.Context(), e.client("json", e.admin), e.secretsClient(e.admin)

	// A current version that every refusal below must leave alone.
	first, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "photos", handler("v1"))))
	if err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	refused := func(req *kumov1.DeployRequest, code connect.Code, reason string, want ...string) {
		t.Helper()
		_, err := c.Deploy(ctx, connect.NewRequest(req))
		mustCode(t, err, code)
		if got := control.Reason(err); got != reason {
			t.Errorf("reason %q, want %q (%v)", got, reason, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		if after := e.snapshot(); !mapsEqual(before, after) {
			t.Fatalf("refused deploy changed the store")
		}
	}
	noApp := func(r *kumov1.DeployRequest) *kumov1.DeployRequest { r.App = ""; return r }

	// The referenced app and the secret are missing: both are named.
	refused(noApp(withManifest(bundleReq(t, "photos", handler("v2")), photosManifest)),
		connect.CodeFailedPrecondition, "MISSING_REFERENCE",
		`kumo.yaml:7: services[0].app: no app "billing"`,
		`kumo.yaml:4: secrets[0]: secret "STRIPE_KEY" of app "photos" is not set: run kumo secret put photos STRIPE_KEY`)
	// Manifest problems come back with their lines.
	refused(withManifest(bundleReq(t, "photos", handler("v2")), "name: photos\nkvs: []\n"),
		connect.CodeInvalidArgument, "BAD_MANIFEST", `kumo.yaml:2: unknown key "kvs" in the top level (did you mean "kv"?)`)
	refused(withManifest(bundleReq(t, "photos", handler("v2")), "services: [ {binding: ME, app: photos} ]\n"),
		connect.CodeInvalidArgument, "BAD_MANIFEST", `services[0].app: "photos" is this app`)
	// A flag var colliding with a manifest binding.
	clash := withManifest(bundleReq(t, "photos", handler("v2")), "kv: [ {binding: USERS} ]\n")
	clash.Vars = map[string]string{"USERS": "x"}
	refused(clash, connect.CodeInvalidArgument, "BAD_MANIFEST", `duplicate binding "USERS": bound by vars.USERS and by kv[0].binding`)
	refused(&kumov1.DeployRequest{App: "photos", Manifest: &kumov1.Manifest{File: "photos.yaml", Content: []byte("{}")},
		Source: bundleReq(t, "photos", handler("v2")).Source}, connect.CodeInvalidArgument, "BAD_REQUEST", "manifest.file")
	if r, _, _ := e.appRecord("photos"); len(r.Active) != 1 || r.Active[0].Version != first.Msg.Version {
		t.Fatalf("active version changed: %+v", r.Active)
	}

	// Secrets may be put before the app's first deploy; the referenced
	// app is deployed: now it goes through.
	if _, err := sc.PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "photos", Name: "STRIPE_KEY", Value: "sk_test_123"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "billing", handler("billing")))); err != nil {
		t.Fatal(err)
	}
	req := noApp(withManifest(bundleReq(t, "photos", handler("v2")), photosManifest))
	req.Vars = map[string]string{"MODE": "staging"}
	req.Limits = &kumov1.Limits{CpuMs: 75}
	r, err := c.Deploy(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if r.Msg.App != "photos" || len(r.Msg.Hosts) != 1 || r.Msg.Hosts[0] != "photos.example.com" {
		t.Fatalf("deploy: %+v", r.Msg)
	}
	m := e.storedContent(r.Msg.Version).Manifest
	if m.Vars["GREETING"] != "hello" || m.Vars["MODE"] != "staging" || m.Limits.CPUMs != 75 || m.Limits.TimeoutMs != 5000 ||
		len(m.Secrets) != 1 || m.Secrets[0] != "STRIPE_KEY" || len(m.Services) != 1 || m.Services[0].App != "billing" {
		t.Fatalf("stored manifest: %+v", m)
	}
	if _, err := sc.PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "photos", Name: "STRIPE_KEY", Value: "sk_test_456"})); err != nil {
		t.Fatal(err)
	}
	// Deleting the secret makes the next deploy of the manifest fail.
	if _, err := sc.DeleteSecret(ctx, connect.NewRequest(&kumov1.DeleteSecretRequest{App: "photos", Name: "STRIPE_KEY"})); err != nil {
		t.Fatal(err)
	}
	before = e.snapshot()
	refused(noApp(withManifest(bundleReq(t, "photos", handler("v3")), photosManifest)),
		connect.CodeFailedPrecondition, "MISSING_REFERENCE", "run kumo secret put photos STRIPE_KEY")
}

func TestArchiveManifest(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx, c := t.Context(), e.client("json", e.admin)
	// main picks an entry the detection would not find; hosts and vars apply.
	tgz := tarGz(t,
		tarEntry{name: "app/kumo.yaml", body: "name: ignored-name\nmain: lib/start.js\nvars: { WHO: manifest }\nhosts: [ arch.example.com ]\n"},
		tarEntry{name: "app/lib/start.js", body: handler("from main")},
		tarEntry{name: "app/index.js", body: handler("detected")})
	r, err := c.Deploy(ctx, connect.NewRequest(archiveReq("arch", tgz, "tar.gz")))
	if err != nil {
		t.Fatal(err)
	}
	content := e.storedContent(r.Msg.Version)
	if content.Manifest.Entry != "lib/start.js" || content.Manifest.Vars["WHO"] != "manifest" || !strings.Contains(content.Code, "from main") {
		t.Fatalf("content: entry %q vars %v", content.Manifest.Entry, content.Manifest.Vars)
	}
	if r.Msg.App != "arch" || len(r.Msg.Hosts) != 1 || r.Msg.Hosts[0] != "arch.example.com" {
		t.Fatalf("deploy: %+v", r.Msg)
	}
	before := e.snapshot()
	for _, tc := range []struct {
		name string
		req  *kumov1.DeployRequest
		want string
	}{
		{"bad manifest in archive", archiveReq("arch", tarGz(t,
			tarEntry{name: "kumo.yaml", body: "crons: [ \"* * *\" ]\n"}, tarEntry{name: "index.js", body: handler("x")}), "tar.gz"),
			`kumo.yaml:1: crons[0]: cron "* * *": want 5 fields`},
		{"two manifests", withManifest(archiveReq("arch", tarGz(t,
			tarEntry{name: "kumo.json", body: "{}"}, tarEntry{name: "index.js", body: handler("x")}), "tar.gz"), "{}"),
			"the archive holds kumo.json and the request carries a manifest"},
		{"main missing", archiveReq("arch", zipOf(t, map[string]string{"kumo.yaml": "main: nope.js\n", "index.js": handler("x")}), "zip"),
			"nope.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Deploy(ctx, connect.NewRequest(tc.req))
			mustCode(t, err, connect.CodeInvalidArgument)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if after := e.snapshot(); !mapsEqual(before, after) {
				t.Fatal("refused deploy changed the store")
			}
		})
	}
}

// syncBuf is a concurrency-safe buffer for a logger.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSecretsAPI(t *testing.T) {
	var logs syncBuf
	e := newEnv(t, control.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, sc := t.Context(), e.secretsClient(e.admin)
	const value = "pa55-w0rd-never-shown"

	put, err := sc.PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "shop", Name: "API_TOKEN", Value: value}))
	if err != nil || !put.Msg.Created || put.Msg.Updated == nil {
		t.Fatalf("put: %+v %v", put, err)
	}
	put, err = sc.PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "shop", Name: "API_TOKEN", Value: value + "2"}))
	if err != nil || put.Msg.Created {
		t.Fatalf("update: %+v %v", put, err)
	}
	if _, err := sc.PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "shop", Name: "OTHER", Value: value})); err != nil {
		t.Fatal(err)
	}

	// The listing, read raw as JSON, has names and times but no value.
	body := `{"app":"shop"}`
	hreq, _ := http.NewRequest("POST", e.srv.URL+"/kumo.v1.Secrets/ListSecrets", strings.NewReader(body))
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"API_TOKEN"`) || !strings.Contains(string(raw), `"OTHER"`) || !strings.Contains(string(raw), "updated") {
		t.Fatalf("list: %d %s", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), value) {
		t.Fatalf("the listing holds the value: %s", raw)
	}

	// Scopes: a token of another app may not touch these; one of the app may.
	shopTok, err := e.client("json", e.admin).CreateToken(ctx, connect.NewRequest(&kumov1.CreateTokenRequest{Name: "shop-ci", App: "shop"}))
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := e.client("json", e.admin).CreateToken(ctx, connect.NewRequest(&kumov1.CreateTokenRequest{Name: "other-ci", App: "other"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.secretsClient(shopTok.Msg.Token).ListSecrets(ctx, connect.NewRequest(&kumov1.ListSecretsRequest{App: "shop"})); err != nil {
		t.Fatalf("app token: %v", err)
	}
	before := e.snapshot()
	_, err = e.secretsClient(otherTok.Msg.Token).PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "shop", Name: "API_TOKEN", Value: "x"}))
	mustCode(t, err, connect.CodePermissionDenied)
	_, err = e.secretsClient("").PutSecret(ctx, connect.NewRequest(&kumov1.PutSecretRequest{App: "shop", Name: "API_TOKEN", Value: "x"}))
	mustCode(t, err, connect.CodeUnauthenticated)
	// Bad names and values are refused without echoing the value.
	for _, r := range []*kumov1.PutSecretRequest{
		{App: "shop", Name: "BAD-NAME", Value: value},
		{App: "Shop", Name: "A", Value: value},
		{App: "shop", Name: "A", Value: ""},
		{App: "shop", Name: "A", Value: strings.Repeat(value, 10000)},
	} {
		_, err := sc.PutSecret(ctx, connect.NewRequest(r))
		mustCode(t, err, connect.CodeInvalidArgument)
		if strings.Contains(err.Error(), value) {
			t.Errorf("error quotes the value: %v", err)
		}
	}
	_, err = sc.DeleteSecret(ctx, connect.NewRequest(&kumov1.DeleteSecretRequest{App: "shop", Name: "NOPE"}))
	mustCode(t, err, connect.CodeNotFound)
	if control.Reason(err) != "SECRET_NOT_FOUND" {
		t.Errorf("reason %q", control.Reason(err))
	}
	if after := e.snapshot(); !mapsEqual(before, after) {
		t.Fatal("refused secret calls changed the store")
	}

	// Nothing in the store, and no log line, holds the value.
	for k, v := range e.snapshot() {
		if strings.Contains(v, value) || strings.Contains(k, value) {
			t.Errorf("store key %s holds the value in clear", k)
		}
	}
	if strings.Contains(logs.String(), value) {
		t.Errorf("the logs hold the value:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "secret put") {
		t.Errorf("puts are not logged:\n%s", logs.String())
	}

	// Removing the app removes its secrets.
	if _, err := e.client("json", e.admin).Deploy(ctx, connect.NewRequest(bundleReq(t, "shop", handler("shop")))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client("json", e.admin).DeleteApp(ctx, connect.NewRequest(&kumov1.DeleteAppRequest{App: "shop"})); err != nil {
		t.Fatal(err)
	}
	list, err := sc.ListSecrets(ctx, connect.NewRequest(&kumov1.ListSecretsRequest{App: "shop"}))
	if err != nil || len(list.Msg.Secrets) != 0 {
		t.Fatalf("after rm: %v %v", list, err)
	}
}

func TestEverySecretsProcedureNeedsToken(t *testing.T) {
	e := newEnv(t, control.Config{})
	methods := kumov1.File_proto_kumo_v1_secrets_proto.Services().ByName("Secrets").Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		for _, token := range []string{"", "kumo_bad"} {
			req, _ := http.NewRequest("POST", e.srv.URL+"/kumo.v1.Secrets/"+string(m.Name()), strings.NewReader(`{"app":"x","name":"A","value":"v"}`))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with token %q: status %d, want 401", m.Name(), token, resp.StatusCode)
			}
		}
	}
}

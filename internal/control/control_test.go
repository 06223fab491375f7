package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/control"
	"github.com/kumo-dev/kumo/internal/testutil"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

// TestLifecycle deploys, lists, splits, promotes, rolls back and deletes
// through each protocol the handler speaks.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, control.Config{})
	for _, protocol := range []string{"grpc", "json", "grpcweb"} {
		t.Run(protocol, func(t *testing.T) {
			ctx := t.Context()
			c := e.client(protocol, e.admin)
			name := "life-" + protocol

			req := bundleReq(t, name, handler("v1"))
			req.Message, req.Hosts = "first", []string{name + ".Example.com"}
			r1, err := c.Deploy(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatalf("deploy v1: %v", err)
			}
			v1 := r1.Msg.Version
			if !app.ValidVersionID(v1) || r1.Msg.Unchanged {
				t.Fatalf("deploy v1: version %q unchanged %v", v1, r1.Msg.Unchanged)
			}
			rec, _, _ := e.appRecord(name)
			if !slices.Equal(rec.Active, []app.Split{{Version: v1, Percent: 100}}) || !slices.Equal(rec.Hosts, []string{name + ".example.com"}) {
				t.Fatalf("record after v1: %+v", rec)
			}
			if owner, _, err := e.st.Get(ctx, app.HostKey(name+".example.com")); err != nil || !strings.Contains(string(owner), name) {
				t.Fatalf("host claim: %s, %v", owner, err)
			}

			// A gradual rollout: v2 gets 10%.
			req = bundleReq(t, name, handler("v2"))
			req.Percent = 10
			r2, err := c.Deploy(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatalf("deploy v2: %v", err)
			}
			v2 := r2.Msg.Version
			if got := r2.Msg.Active; len(got) != 2 || got[0].Version != v2 || got[0].Percent != 10 || got[1].Version != v1 || got[1].Percent != 90 {
				t.Fatalf("split: %v", got)
			}
			vs, err := c.ListVersions(ctx, connect.NewRequest(&kumov1.ListVersionsRequest{App: name}))
			if err != nil {
				t.Fatal(err)
			}
			if len(vs.Msg.Versions) != 2 || vs.Msg.Versions[0].Id != v2 || vs.Msg.Versions[0].Active != 10 ||
				vs.Msg.Versions[1].Id != v1 || vs.Msg.Versions[1].Active != 90 || vs.Msg.Versions[1].Message != "first" ||
				vs.Msg.Versions[1].Author != "admin" || vs.Msg.Versions[1].Size == 0 {
				t.Fatalf("versions: %v", vs.Msg.Versions)
			}

			pr, err := c.Promote(ctx, connect.NewRequest(&kumov1.PromoteRequest{App: name}))
			if err != nil {
				t.Fatalf("promote: %v", err)
			}
			if len(pr.Msg.Active) != 1 || pr.Msg.Active[0].Version != v2 || pr.Msg.Active[0].Percent != 100 {
				t.Fatalf("promote: %v", pr.Msg.Active)
			}
			_, err = c.Promote(ctx, connect.NewRequest(&kumov1.PromoteRequest{App: name}))
			mustCode(t, err, connect.CodeFailedPrecondition)

			apps, err := c.ListApps(ctx, connect.NewRequest(&kumov1.ListAppsRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range apps.Msg.Apps {
				if a.Name == name {
					found = true
					if len(a.Active) != 1 || a.Active[0].Version != v2 || len(a.Hosts) != 1 {
						t.Errorf("listed app: %v", a)
					}
				}
			}
			if !found {
				t.Fatalf("ListApps does not list %s: %v", name, apps.Msg.Apps)
			}

			// Rollback by a 12-character prefix.
			rb, err := c.Rollback(ctx, connect.NewRequest(&kumov1.RollbackRequest{App: name, Version: v1[:12]}))
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if rb.Msg.Active[0].Version != v1 {
				t.Fatalf("rollback: %v", rb.Msg.Active)
			}
			if rec, _, _ := e.appRecord(name); rec.Active[0].Version != v1 || len(rec.Active) != 1 {
				t.Fatalf("record after rollback: %+v", rec)
			}
			_, err = c.Rollback(ctx, connect.NewRequest(&kumov1.RollbackRequest{App: name, Version: "ffffffffffff"}))
			mustCode(t, err, connect.CodeNotFound)

			del, err := c.DeleteApp(ctx, connect.NewRequest(&kumov1.DeleteAppRequest{App: name}))
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
			if del.Msg.VersionsDeleted != 2 || len(del.Msg.HostsReleased) != 1 {
				t.Fatalf("delete: %v", del.Msg)
			}
			for _, prefix := range []string{app.AppKey(name), app.VersionsPrefix(name), app.HostKey(name + ".example.com")} {
				if keys, _ := e.st.Keys(ctx, prefix); len(keys) > 0 {
					t.Errorf("keys left under %s: %v", prefix, keys)
				}
			}
			if _, _, ok := e.appRecord(name); ok {
				t.Errorf("app record left after delete")
			}
			for _, id := range []string{v1, v2} {
				if ok, _ := e.st.BlobExists(ctx, id); ok {
					t.Errorf("blob %s left after delete", app.ShortID(id))
				}
			}
			_, err = c.ListVersions(ctx, connect.NewRequest(&kumov1.ListVersionsRequest{App: name}))
			mustCode(t, err, connect.CodeNotFound)
		})
	}
}

// TestPlainJSONOverHTTP calls the service the way curl would.
func TestPlainJSONOverHTTP(t *testing.T) {
	e := newEnv(t, control.Config{})
	if _, err := e.client("json", e.admin).Deploy(t.Context(), connect.NewRequest(bundleReq(t, "plain", handler("hi")))); err != nil {
		t.Fatal(err)
	}
	post := func(token, body string) (int, string) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/kumo.v1.Control/ListApps", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post(e.admin, "{}")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var out struct {
		Apps []struct {
			Name   string `json:"name"`
			Active []struct {
				Version string `json:"version"`
				Percent int    `json:"percent"`
			} `json:"active"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if len(out.Apps) != 1 || out.Apps[0].Name != "plain" || out.Apps[0].Active[0].Percent != 100 {
		t.Fatalf("ListApps JSON: %s", body)
	}
	if status, body := post("", "{}"); status != http.StatusUnauthorized || !strings.Contains(body, "unauthenticated") {
		t.Fatalf("no token: %d %s", status, body)
	}
}

func TestIdenticalRedeployIsUnchanged(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx, c := t.Context(), e.client("json", e.admin)
	r1, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "same", handler("x"))))
	if err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	req := bundleReq(t, "same", handler("x"))
	req.Message = "message and author are not content"
	r2, err := c.Deploy(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Msg.Unchanged || r2.Msg.Version != r1.Msg.Version {
		t.Fatalf("redeploy: %v", r2.Msg)
	}
	if after := e.snapshot(); !mapsEqual(before, after) {
		t.Fatalf("identical redeploy changed the store:\nbefore %v\nafter  %v", before, after)
	}

	// Changing a var is a new version.
	req = bundleReq(t, "same", handler("x"))
	req.Vars = map[string]string{"GREETING": "hi"}
	r3, err := c.Deploy(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if r3.Msg.Unchanged || r3.Msg.Version == r1.Msg.Version {
		t.Fatalf("deploy with a var: %v", r3.Msg)
	}
	// Deploying the first content again reuses its version and activates it.
	r4, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "same", handler("x"))))
	if err != nil {
		t.Fatal(err)
	}
	if !r4.Msg.Unchanged || r4.Msg.Active[0].Version != r1.Msg.Version {
		t.Fatalf("redeploy of an older version: %v", r4.Msg)
	}
	if keys, _ := e.st.Keys(ctx, app.VersionsPrefix("same")); len(keys) != 2 {
		t.Fatalf("versions: %v", keys)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestConcurrentDeploys deploys 8 different versions of one app at once:
// every version is recorded, the active pointer names one of them, and the
// record is whole.
func TestConcurrentDeploys(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx := t.Context()
	const n = 8
	reqs := make([]*kumov1.DeployRequest, n)
	for i := range reqs {
		reqs[i] = bundleReq(t, "race", handler(fmt.Sprintf("v%d", i)))
		reqs[i].Message = fmt.Sprintf("deploy %d", i)
	}
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := e.client("grpc", e.admin)
		wg.Go(func() {
			r, err := c.Deploy(ctx, connect.NewRequest(reqs[i]))
			if err == nil {
				ids[i] = r.Msg.Version
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("deploy %d: %v", i, err)
		}
	}
	keys, err := e.st.Keys(ctx, app.VersionsPrefix("race"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Fatalf("%d versions recorded, want %d: %v", len(keys), n, keys)
	}
	for _, id := range ids {
		if !slices.Contains(keys, app.VersionKey("race", id)) {
			t.Errorf("version %s missing", app.ShortID(id))
		}
		if ok, _ := e.st.BlobExists(ctx, id); !ok {
			t.Errorf("blob %s missing", app.ShortID(id))
		}
	}
	rec, _, ok := e.appRecord("race")
	if !ok || len(rec.Active) != 1 || rec.Active[0].Percent != 100 || !slices.Contains(ids, rec.Active[0].Version) {
		t.Fatalf("active: %+v", rec)
	}
}

// TestBadDeploysChangeNothing sends every kind of bad deploy to an app
// that has a version, and checks each is refused with a message naming
// the problem while the store stays exactly as it was.
func TestBadDeploysChangeNothing(t *testing.T) {
	e := newEnv(t, control.Config{MaxUnpackedBytes: 1 << 20, MaxArchiveBytes: 1 << 20})
	ctx, c := t.Context(), e.client("json", e.admin)
	good := bundleReq(t, "target", handler("good"))
	good.Hosts = []string{"target.example.com"}
	if _, err := c.Deploy(ctx, connect.NewRequest(good)); err != nil {
		t.Fatal(err)
	}
	other := bundleReq(t, "other", handler("other"))
	other.Hosts = []string{"taken.example.com"}
	if _, err := c.Deploy(ctx, connect.NewRequest(other)); err != nil {
		t.Fatal(err)
	}
	index := tarEntry{name: "index.js", body: handler("archived")}

	cases := []struct {
		name string
		req  func() *kumov1.DeployRequest
		code connect.Code
		want []string // substrings of the message
	}{
		{"bad name", func() *kumov1.DeployRequest { return bundleReq(t, "Bad_Name", handler("x")) },
			connect.CodeInvalidArgument, []string{"Bad_Name"}},
		{"syntax error", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, tarEntry{name: "index.js", body: "export default {\n  fetch() { return new Response('x') }\n  oops(\n};\n"}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"index.js:3:", "building target"}},
		{"syntax error in an imported ts file", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t,
				tarEntry{name: "index.ts", body: "import { f } from './lib';\nexport default { fetch() { return new Response(f()) } };\n"},
				tarEntry{name: "lib.ts", body: "export function f(): string {\n  return 'a' +;\n}\n"}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"lib.ts:2:"}},
		{"syntax error in a prebuilt bundle", func() *kumov1.DeployRequest {
			return &kumov1.DeployRequest{App: "target", Source: &kumov1.DeployRequest_Bundle{Bundle: &kumov1.Bundle{Code: "var x = (;"}}}
		}, connect.CodeInvalidArgument, []string{"SyntaxError"}},
		{"no handler", func() *kumov1.DeployRequest { return bundleReq(t, "target", "export const x = 1;") },
			connect.CodeInvalidArgument, []string{"no handler"}},
		{"top level throws", func() *kumov1.DeployRequest {
			return bundleReq(t, "target", "throw new Error('boom at start');\nexport default { fetch() { return new Response('x') } };")
		}, connect.CodeInvalidArgument, []string{"boom at start"}},
		{"dotdot path", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, index, tarEntry{name: "../evil.js", body: "x"}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{`"../evil.js"`, "'..'"}},
		{"nested dotdot path in zip", func() *kumov1.DeployRequest {
			return archiveReq("target", zipOf(t, map[string]string{"index.js": handler("z"), "a/../../b.js": "x"}), "zip")
		}, connect.CodeInvalidArgument, []string{"a/../../b.js", "'..'"}},
		{"absolute path", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, index, tarEntry{name: "/etc/cron.d/x", body: "x"}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"/etc/cron.d/x", "absolute path"}},
		{"symlink", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, index, tarEntry{name: "link.js", typeflag: '2', linkname: "/etc/passwd"}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"link.js", "symbolic links"}},
		{"hard link", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, index, tarEntry{name: "hard.js", typeflag: '1', linkname: "index.js"}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"hard.js", "hard links"}},
		{"device", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, index, tarEntry{name: "dev", typeflag: '3'}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"device"}},
		{"oversize", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, index, tarEntry{name: "big.txt", body: strings.Repeat("0", 2<<20)}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"more than 1048576 bytes", "big.txt"}},
		{"oversize upload", func() *kumov1.DeployRequest {
			return archiveReq("target", bytes.Repeat([]byte{1}, 1<<20+1), "zip")
		}, connect.CodeInvalidArgument, []string{"over the limit"}},
		{"unknown format", func() *kumov1.DeployRequest { return archiveReq("target", []byte("x"), "rar") },
			connect.CodeInvalidArgument, []string{`"rar"`}},
		{"import outside the archive", func() *kumov1.DeployRequest {
			return archiveReq("target", tarGz(t, tarEntry{name: "index.js", body: "import t from '" + outsideFile(t) + "';\n" + handler("x")}), "tar.gz")
		}, connect.CodeInvalidArgument, []string{"outside the archive"}},
		{"host owned by another app", func() *kumov1.DeployRequest {
			r := bundleReq(t, "target", handler("new"))
			r.Hosts = []string{"fresh.example.com", "taken.example.com"}
			return r
		}, connect.CodeAlreadyExists, []string{"taken.example.com", `"other"`}},
		{"bad host", func() *kumov1.DeployRequest {
			r := bundleReq(t, "target", handler("new"))
			r.Hosts = []string{"bad_host.com"}
			return r
		}, connect.CodeInvalidArgument, []string{"bad_host.com"}},
		{"bad percent", func() *kumov1.DeployRequest {
			r := bundleReq(t, "target", handler("new"))
			r.Percent = 101
			return r
		}, connect.CodeInvalidArgument, []string{"percent"}},
		{"bad limits", func() *kumov1.DeployRequest {
			r := bundleReq(t, "target", handler("new"))
			r.Limits = &kumov1.Limits{MemoryMb: 1 << 20}
			return r
		}, connect.CodeInvalidArgument, []string{"memory"}},
		{"no source", func() *kumov1.DeployRequest { return &kumov1.DeployRequest{App: "target"} },
			connect.CodeInvalidArgument, []string{"bundle or an archive"}},
	}
	before := e.snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Deploy(ctx, connect.NewRequest(tc.req()))
			mustCode(t, err, tc.code)
			msg := connect.CodeOf(err).String() + ": " + err.Error()
			t.Log(msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if control.Reason(err) == "" {
				t.Errorf("error carries no reason: %v", err)
			}
			if after := e.snapshot(); !mapsEqual(before, after) {
				t.Fatalf("refused deploy changed the store:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// outsideFile is a file outside any archive that an import could reach.
func outsideFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(p, []byte("server secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestArchiveDeploy(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx, c := t.Context(), e.client("grpc", e.admin)
	// Wrapped in one folder, TypeScript, with a local import.
	tgz := tarGz(t,
		tarEntry{name: "hello/", typeflag: '5'},
		tarEntry{name: "hello/index.ts", body: "import { greet } from './greet';\nexport default { fetch(): Response { return new Response(greet('tar')); } };\n"},
		tarEntry{name: "hello/greet.ts", body: "export const greet = (s: string): string => 'hi ' + s;\n"})
	r, err := c.Deploy(ctx, connect.NewRequest(archiveReq("arch", tgz, "tar.gz")))
	if err != nil {
		t.Fatalf("tar.gz: %v", err)
	}
	data, err := e.st.GetBlob(ctx, r.Msg.Version)
	if err != nil {
		t.Fatal(err)
	}
	content, err := app.DecodeContent(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, id, _ := app.EncodeContent(content); id != r.Msg.Version || content.Manifest.Entry != "index.ts" || !strings.Contains(content.Code, "hi ") {
		t.Fatalf("stored content: entry %q id %s", content.Manifest.Entry, id)
	}
	zr, err := c.Deploy(ctx, connect.NewRequest(archiveReq("arch", zipOf(t, map[string]string{"index.js": handler("zip")}), "zip")))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	if zr.Msg.Version == r.Msg.Version {
		t.Fatal("zip deploy gave the tar version")
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx := t.Context()
	admin := e.client("json", e.admin)
	if _, err := admin.Deploy(ctx, connect.NewRequest(bundleReq(t, "mine", handler("m")))); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Deploy(ctx, connect.NewRequest(bundleReq(t, "theirs", handler("t")))); err != nil {
		t.Fatal(err)
	}
	ct, err := admin.CreateToken(ctx, connect.NewRequest(&kumov1.CreateTokenRequest{App: "mine", Name: "ci"}))
	if err != nil {
		t.Fatal(err)
	}
	scoped := ct.Msg.Token
	if !strings.HasPrefix(scoped, "kumo_") || ct.Msg.Info.App != "mine" {
		t.Fatalf("token: %v", ct.Msg)
	}
	_, err = admin.CreateToken(ctx, connect.NewRequest(&kumov1.CreateTokenRequest{App: "mine", Name: "ci"}))
	mustCode(t, err, connect.CodeAlreadyExists)

	before := e.snapshot()
	unchanged := func(t *testing.T) {
		t.Helper()
		if after := e.snapshot(); !mapsEqual(before, after) {
			t.Fatalf("refused call changed the store")
		}
	}
	deploy := func(token, name string) error {
		_, err := e.client("json", token).Deploy(ctx, connect.NewRequest(bundleReq(t, name, handler("new"))))
		return err
	}
	t.Run("no token", func(t *testing.T) {
		mustCode(t, deploy("", "mine"), connect.CodeUnauthenticated)
		unchanged(t)
	})
	t.Run("bad token", func(t *testing.T) {
		mustCode(t, deploy("kumo_nope", "mine"), connect.CodeUnauthenticated)
		_, err := e.client("grpc", "kumo_nope").DeleteApp(ctx, connect.NewRequest(&kumov1.DeleteAppRequest{App: "theirs"}))
		mustCode(t, err, connect.CodeUnauthenticated)
		unchanged(t)
	})
	t.Run("scoped token on another app", func(t *testing.T) {
		mustCode(t, deploy(scoped, "theirs"), connect.CodePermissionDenied)
		c := e.client("json", scoped)
		_, err := c.Rollback(ctx, connect.NewRequest(&kumov1.RollbackRequest{App: "theirs", Version: "00"}))
		mustCode(t, err, connect.CodePermissionDenied)
		_, err = c.GetUsage(ctx, connect.NewRequest(&kumov1.GetUsageRequest{App: "theirs"}))
		mustCode(t, err, connect.CodePermissionDenied)
		_, err = c.CreateToken(ctx, connect.NewRequest(&kumov1.CreateTokenRequest{App: "mine"}))
		mustCode(t, err, connect.CodePermissionDenied)
		_, err = c.DeleteApp(ctx, connect.NewRequest(&kumov1.DeleteAppRequest{App: "mine"}))
		mustCode(t, err, connect.CodePermissionDenied)
		unchanged(t)
	})
	t.Run("scoped token on its app", func(t *testing.T) {
		if err := deploy(scoped, "mine"); err != nil {
			t.Fatal(err)
		}
		apps, err := e.client("json", scoped).ListApps(ctx, connect.NewRequest(&kumov1.ListAppsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if len(apps.Msg.Apps) != 1 || apps.Msg.Apps[0].Name != "mine" {
			t.Fatalf("scoped ListApps: %v", apps.Msg.Apps)
		}
		rec, _, _ := e.appRecord("mine")
		vs, _ := e.st.Keys(ctx, app.VersionsPrefix("mine"))
		if len(vs) != 2 {
			t.Fatalf("versions of mine: %v (record %+v)", vs, rec)
		}
		before = e.snapshot()
	})
	t.Run("revoked token", func(t *testing.T) {
		list, err := admin.ListTokens(ctx, connect.NewRequest(&kumov1.ListTokensRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Msg.Tokens) != 2 {
			t.Fatalf("tokens: %v", list.Msg.Tokens)
		}
		for _, tok := range list.Msg.Tokens {
			if strings.Contains(tok.String(), scoped) || strings.Contains(tok.String(), e.admin) {
				t.Fatalf("ListTokens shows a token")
			}
		}
		rv, err := admin.RevokeToken(ctx, connect.NewRequest(&kumov1.RevokeTokenRequest{Token: "ci"}))
		if err != nil {
			t.Fatal(err)
		}
		if rv.Msg.Revoked.Name != "ci" {
			t.Fatalf("revoked %v", rv.Msg.Revoked)
		}
		before = e.snapshot()
		mustCode(t, deploy(scoped, "mine"), connect.CodeUnauthenticated)
		unchanged(t)
		_, err = admin.RevokeToken(ctx, connect.NewRequest(&kumov1.RevokeTokenRequest{Token: "ci"}))
		mustCode(t, err, connect.CodeNotFound)
	})
	t.Run("revoke by hash prefix", func(t *testing.T) {
		ct, err := admin.CreateToken(ctx, connect.NewRequest(&kumov1.CreateTokenRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if ct.Msg.Info.App != "" || !strings.HasPrefix(ct.Msg.Info.Name, "admin-") {
			t.Fatalf("admin token: %v", ct.Msg.Info)
		}
		if _, err := e.client("json", ct.Msg.Token).ListTokens(ctx, connect.NewRequest(&kumov1.ListTokensRequest{})); err != nil {
			t.Fatalf("new admin token: %v", err)
		}
		if _, err := admin.RevokeToken(ctx, connect.NewRequest(&kumov1.RevokeTokenRequest{Token: ct.Msg.Info.HashPrefix[:8]})); err != nil {
			t.Fatal(err)
		}
		_, err = e.client("json", ct.Msg.Token).ListTokens(ctx, connect.NewRequest(&kumov1.ListTokensRequest{}))
		mustCode(t, err, connect.CodeUnauthenticated)
	})
}

// TestEveryProcedureNeedsToken calls each procedure without a token and
// with a bad one.
func TestEveryProcedureNeedsToken(t *testing.T) {
	e := newEnv(t, control.Config{})
	methods := kumov1.File_proto_kumo_v1_control_proto.Services().ByName("Control").Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		if m.IsStreamingServer() {
			continue // checked below through a client
		}
		for _, token := range []string{"", "kumo_bad"} {
			req, _ := http.NewRequest("POST", e.srv.URL+"/kumo.v1.Control/"+string(m.Name()), strings.NewReader(`{"app":"x"}`))
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
	stream, err := e.client("json", "").FollowLogs(t.Context(), connect.NewRequest(&kumov1.FollowLogsRequest{App: "x"}))
	if err == nil {
		for stream.Receive() {
		}
		err = stream.Err()
	}
	mustCode(t, err, connect.CodeUnauthenticated)
}

func TestEnsureAdminToken(t *testing.T) {
	st := testutil.Store(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "data", "admin.token")
	tok, created, err := control.EnsureAdminToken(ctx, st, path)
	if err != nil || !created {
		t.Fatalf("first start: %v created %v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	// Only the hash is stored: no key or value contains the token.
	keys, _ := st.Keys(ctx, "")
	for _, k := range keys {
		v, _, _ := st.Get(ctx, k)
		if strings.Contains(k, tok) || strings.Contains(string(v), tok) {
			t.Fatalf("token stored in clear under %s", k)
		}
	}
	if !slices.Contains(keys, app.TokenKey(app.TokenHash(tok))) {
		t.Fatalf("hash not stored: %v", keys)
	}
	// A restart keeps it.
	tok2, created, err := control.EnsureAdminToken(ctx, st, path)
	if err != nil || created || tok2 != tok {
		t.Fatalf("restart: %v created %v same %v", err, created, tok2 == tok)
	}
	// A token file the store does not know (a new store, a revoked token)
	// is replaced.
	if err := os.WriteFile(path, []byte("kumo_unknown\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok3, created, err := control.EnsureAdminToken(ctx, st, path)
	if err != nil || !created || tok3 == tok {
		t.Fatalf("unknown token: %v created %v", err, created)
	}
	fi, _ = os.Stat(path)
	data, _ := os.ReadFile(path)
	if fi.Mode().Perm() != 0o600 || strings.TrimSpace(string(data)) != tok3 {
		t.Fatalf("rewritten file: mode %v", fi.Mode().Perm())
	}
}

func TestPruneKeepsActiveVersions(t *testing.T) {
	e := newEnv(t, control.Config{MaxVersions: 3})
	ctx, c := t.Context(), e.client("json", e.admin)
	var ids []string
	deploy := func(body string) {
		r, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "pruned", handler(body))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Msg.Version)
	}
	deploy("1")
	deploy("2")
	deploy("3")
	if _, err := c.Rollback(ctx, connect.NewRequest(&kumov1.RollbackRequest{App: "pruned", Version: ids[0]})); err != nil {
		t.Fatal(err)
	}
	// Keep v1 active while v4 and v5 are rolled out at 50%.
	for _, body := range []string{"4", "5"} {
		req := bundleReq(t, "pruned", handler(body))
		req.Percent = 50
		r, err := c.Deploy(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Msg.Version)
	}
	vs, err := c.ListVersions(ctx, connect.NewRequest(&kumov1.ListVersionsRequest{App: "pruned"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs.Msg.Versions {
		got = append(got, v.Id)
	}
	want := []string{ids[4], ids[3], ids[2], ids[0]} // newest 3 + the active v1
	if !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", short(got), short(want))
	}
	if ok, _ := e.st.BlobExists(ctx, ids[1]); ok {
		t.Errorf("blob of pruned v2 kept")
	}
	if ok, _ := e.st.BlobExists(ctx, ids[0]); !ok {
		t.Errorf("blob of active v1 deleted")
	}
}

func short(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = app.ShortID(id)
	}
	return out
}

func TestSharedBlobSurvivesDeleteOfOneApp(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx, c := t.Context(), e.client("json", e.admin)
	r1, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "twin-a", handler("same"))))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "twin-b", handler("same"))))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Msg.Version != r2.Msg.Version {
		t.Fatalf("equal content in two apps gave two ids")
	}
	if _, err := c.DeleteApp(ctx, connect.NewRequest(&kumov1.DeleteAppRequest{App: "twin-a"})); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.st.BlobExists(ctx, r1.Msg.Version); !ok {
		t.Fatal("blob shared with twin-b was deleted")
	}
}

func TestUsageAndLogs(t *testing.T) {
	e := newEnv(t, control.Config{})
	ctx, c := t.Context(), e.client("json", e.admin)
	r, err := c.Deploy(ctx, connect.NewRequest(bundleReq(t, "metered", handler("x"))))
	if err != nil {
		t.Fatal(err)
	}
	put := func(version string, u app.UsageTotals) {
		data, _ := json.Marshal(u)
		if _, err := e.st.Put(ctx, app.UsageKey("metered", version), data); err != nil {
			t.Fatal(err)
		}
	}
	put(r.Msg.Version, app.UsageTotals{Requests: 10, Errors: 1, CPUUs: 500, BytesOut: 100, ColdStarts: 1})
	put(strings.Repeat("a", 64), app.UsageTotals{Requests: 5, Errors: 2, CPUUs: 50})
	u, err := c.GetUsage(ctx, connect.NewRequest(&kumov1.GetUsageRequest{App: "metered"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Msg.Versions) != 2 || u.Msg.Total.Requests != 15 || u.Msg.Total.Errors != 3 || u.Msg.Total.CpuUs != 550 || u.Msg.Total.ColdStarts != 1 {
		t.Fatalf("usage: %v", u.Msg)
	}
	apps, err := c.ListApps(ctx, connect.NewRequest(&kumov1.ListAppsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if a := apps.Msg.Apps[0]; a.Requests != 15 || a.Errors != 3 {
		t.Fatalf("ListApps totals: %v", a)
	}
	_, err = c.GetUsage(ctx, connect.NewRequest(&kumov1.GetUsageRequest{App: "nosuch"}))
	mustCode(t, err, connect.CodeNotFound)

	for i := range 3 {
		if err := e.st.AppendLog(ctx, "metered", []byte(fmt.Sprintf("line %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	logs, err := c.Logs(ctx, connect.NewRequest(&kumov1.LogsRequest{App: "metered", Last: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logs.Msg.Lines, []string{"line 1", "line 2"}) {
		t.Fatalf("logs: %v", logs.Msg.Lines)
	}

	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := c.FollowLogs(fctx, connect.NewRequest(&kumov1.FollowLogsRequest{App: "metered", Last: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var got []string
	next := func() string {
		t.Helper()
		for stream.Receive() {
			if line := stream.Msg().Line; line != "" {
				return line
			}
		}
		t.Fatalf("stream ended: %v", stream.Err())
		return ""
	}
	got = append(got, next())
	if err := e.st.AppendLog(ctx, "metered", []byte("live")); err != nil {
		t.Fatal(err)
	}
	got = append(got, next())
	if !slices.Equal(got, []string{"line 2", "live"}) {
		t.Fatalf("followed: %v", got)
	}
}

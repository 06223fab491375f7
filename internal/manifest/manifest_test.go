package manifest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/app"
)

const issueExample = `name: photos
main: src/index.ts
limits: { cpu_ms: 50, memory_mb: 128, timeout: 30s }
vars: { GREETING: hello }
kv: [ { binding: USERS } ]
buckets: [ { binding: PHOTOS } ]
queues:
  producers: [ { binding: TASKS, queue: tasks } ]
  consumers: [ { queue: tasks, max_retries: 3, retry_delay: 5s, dead_letter: tasks-dlq, batch: 10, ack_timeout: 20s } ]
crons: [ "*/5 * * * *" ]
secrets: [ STRIPE_KEY ]
services: [ { binding: BILLING, app: billing } ]
`

func TestParseIssueExample(t *testing.T) {
	m, err := Parse("kumo.yaml", []byte(issueExample))
	if err != nil {
		t.Fatal(err)
	}
	want := app.Manifest{
		Limits:  app.Limits{CPUMs: 50, MemoryMB: 128, TimeoutMs: 30000},
		Vars:    map[string]string{"GREETING": "hello"},
		KV:      []app.KVBinding{{Binding: "USERS"}},
		Buckets: []app.BucketBinding{{Binding: "PHOTOS"}},
		Queues: app.Queues{
			Producers: []app.QueueProducer{{Binding: "TASKS", Queue: "tasks"}},
			Consumers: []app.QueueConsumer{{Queue: "tasks", MaxRetries: 3, RetryDelayMs: 5000, DeadLetter: "tasks-dlq", Batch: 10, AckTimeoutMs: 20000}},
		},
		Crons:    []string{"*/5 * * * *"},
		Secrets:  []string{"STRIPE_KEY"},
		Services: []app.ServiceBinding{{Binding: "BILLING", App: "billing"}},
	}
	if !reflect.DeepEqual(m.App, want) {
		t.Errorf("got  %+v\nwant %+v", m.App, want)
	}
	if m.Name != "photos" || m.Main != "src/index.ts" || m.File != "kumo.yaml" || string(m.Raw) != issueExample {
		t.Errorf("app level: %+v", m)
	}
	if Namespace(m.App.KV[0]) != "users" || Bucket(m.App.Buckets[0]) != "photos" {
		t.Errorf("defaults: %q %q", Namespace(m.App.KV[0]), Bucket(m.App.Buckets[0]))
	}
}

// parseErr parses src and returns its error text, failing when it parses.
func parseErr(t *testing.T, file, src string) string {
	t.Helper()
	_, err := Parse(file, []byte(src))
	if err == nil {
		t.Fatalf("%s parsed:\n%s", file, src)
	}
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("error %T is not *Error: %v", err, err)
	}
	return err.Error()
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // each a line of the error
	}{
		{"unknown top key", "name: a\nmain: x.ts\nvars: {A: b}\n\n\n\nkvs: [ { binding: USERS } ]\n",
			[]string{`kumo.yaml:7: unknown key "kvs" in the top level (did you mean "kv"?)`}},
		{"unknown nested key", "queues:\n  consumers:\n    - queue: tasks\n      retries: 3\n",
			[]string{`kumo.yaml:4: unknown key "retries" in queues.consumers[0] (did you mean "max_retries"?)`}},
		{"alias suggestion", "entry: src/a.ts\n", []string{`kumo.yaml:1: unknown key "entry" in the top level (did you mean "main"?)`}},
		{"no suggestion", "zzzzzz: 1\n", []string{`kumo.yaml:1: unknown key "zzzzzz" in the top level`}},
		{"repeated key", "name: a\nname: b\n", []string{`kumo.yaml:2: key "name" repeated in the top level (first at line 1)`}},
		{"several problems", "kvs: []\nlimits:\n  cpu: 5\n  timeout: 30\n",
			[]string{
				`kumo.yaml:1: unknown key "kvs" in the top level (did you mean "kv"?)`,
				`kumo.yaml:3: unknown key "cpu" in limits (did you mean "cpu_ms"?)`,
				`kumo.yaml:4: limits.timeout: want a duration with a unit such as "30s" or "500ms", found a number`,
			}},
		{"bad duration", "limits: {timeout: 30x}\n", []string{`kumo.yaml:1: limits.timeout: "30x" is not a duration`}},
		{"negative", "limits:\n  cpu_ms: -1\n", []string{`kumo.yaml:2: limits.cpu_ms: -1 must not be negative`}},
		{"string wanted", "name: 123\n", []string{`kumo.yaml:1: name: want a string, found a number (quote it: "123")`}},
		{"bad app name", "name: Photos\n", []string{`kumo.yaml:1: name: app name "Photos": character 'P' not allowed`}},
		{"list wanted", "secrets: STRIPE_KEY\n", []string{`kumo.yaml:1: secrets: want a list, found a string`}},
		{"null var", "vars:\n  A:\n", []string{`kumo.yaml:2: vars.A: want a string, number or boolean, found nothing (null)`}},
		{"bad var name", "vars:\n  A-B: x\n", []string{`kumo.yaml:2: vars.A-B: var name "A-B" must match [A-Za-z_][A-Za-z0-9_]*`}},
		{"bad binding", "kv:\n  - binding: 9lives\n", []string{`kumo.yaml:2: kv[0].binding: binding name "9lives" must be a JavaScript identifier`}},
		{"missing binding", "kv:\n  - namespace: users\n", []string{`kumo.yaml:2: kv[0].binding: binding name is empty`}},
		{"default namespace invalid", "kv:\n  - binding: USER_DATA\n",
			[]string{`kumo.yaml:2: kv[0]: binding "USER_DATA" needs a namespace: its lowercased name "user_data" is not a valid namespace name ([a-z0-9][a-z0-9-]{0,62}); add namespace: user-data`}},
		{"duplicate across kinds", "vars: {USERS: x}\nkv: [ {binding: USERS} ]\nservices:\n  - {binding: USERS, app: billing}\n",
			[]string{
				`kumo.yaml:2: kv[0].binding: duplicate binding "USERS": bound by vars.USERS and by kv[0].binding`,
				`kumo.yaml:4: services[0].binding: duplicate binding "USERS": bound by vars.USERS and by services[0].binding`,
			}},
		{"duplicate secret", "secrets: [A, B, A]\n", []string{`kumo.yaml:1: secrets[2]: duplicate binding "A": bound by secrets[0] and by secrets[2]`}},
		{"bad queue name", "queues:\n  producers: [ {binding: Q, queue: Tasks} ]\n", []string{`kumo.yaml:2: queues.producers[0].queue: queue "Tasks": character 'T' not allowed`}},
		{"dead letter itself", "queues:\n  consumers:\n    - queue: tasks\n      dead_letter: tasks\n",
			[]string{`kumo.yaml:4: queues.consumers[0].dead_letter: "tasks" is the queue itself: a dead-letter queue must be another queue`}},
		{"two consumers", "queues:\n  consumers: [ {queue: a}, {queue: a} ]\n", []string{`kumo.yaml:2: queues.consumers[1].queue: queue "a" is already consumed by queues.consumers[0]`}},
		{"zero retries", "queues:\n  consumers: [ {queue: a, max_retries: 0} ]\n", []string{`queues.consumers[0].max_retries: must be at least 1 (leave it out for the default, 3)`}},
		{"too many retries", "queues:\n  consumers: [ {queue: a, max_retries: 1000} ]\n", []string{`queues.consumers[0].max_retries: 1000: must be between 1 and 100`}},
		{"short ack timeout", "queues:\n  consumers: [ {queue: a, ack_timeout: 10ms} ]\n", []string{`queues.consumers[0].ack_timeout: must be between 1s and 24h0m0s`}},
		{"bad cron", "crons:\n  - \"*/5 * * *\"\n", []string{`kumo.yaml:2: crons[0]: cron "*/5 * * *": want 5 fields (minute hour day-of-month month day-of-week), found 4`}},
		{"cron out of range", "crons: [ \"60 * * * *\" ]\n", []string{`kumo.yaml:1: crons[0]: cron "60 * * * *": minute field "60": '60' out of bounds(0, 59)`}},
		{"cron repeated", "crons: [ \"@hourly\", \"0 * * * *\" ]\n", []string{`crons[1]: cron "0 * * * *" repeats crons[0]`}},
		{"service self", "name: billing\nservices: [ {binding: B, app: billing} ]\n", []string{`kumo.yaml:2: services[0].app: "billing" is this app`}},
		{"service bad entrypoint", "services: [ {binding: B, app: billing, entrypoint: my-class} ]\n", []string{`services[0].entrypoint: entrypoint "my-class" must be the name of an exported class`}},
		{"main outside", "main: ../x.ts\n", []string{`kumo.yaml:1: main: "../x.ts" must be a relative path inside the app folder`}},
		{"bad host", "hosts: [ \"a_b.example.com\" ]\n", []string{`kumo.yaml:1: hosts[0]: host "a_b.example.com"`}},
		{"yaml syntax", "name: [a\n", []string{`kumo.yaml:1: invalid YAML: did not find expected`}},
		{"two documents", "name: a\n---\nname: b\n", []string{`kumo.yaml:2: more than one YAML document`}},
		{"top not mapping", "- a\n", []string{`kumo.yaml:1: want a mapping of keys, found a list`}},
		{"anchor under unknown key", "base: &b {binding: X}\n", []string{`unknown key "base"`}},
		{"merge key", "limits:\n  <<: {cpu_ms: 5}\n", []string{`kumo.yaml:2: merge keys and complex keys are not supported in limits`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseErr(t, "kumo.yaml", tc.src)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("error\n%s\nlacks\n%s", got, w)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", n, len(tc.want), got)
			}
		})
	}
}

func TestParseScalarsAndAliases(t *testing.T) {
	src := `
vars:
  PORT: 8080
  DEBUG: true
  RATIO: 1.5
  NAME: &n shared
  OTHER: *n
limits:
  idle_timeout: 1m30s
hosts: [ "API.Example.COM." ]
`
	m, err := Parse("kumo.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PORT": "8080", "DEBUG": "true", "RATIO": "1.5", "NAME": "shared", "OTHER": "shared"}
	if !reflect.DeepEqual(m.App.Vars, want) {
		t.Errorf("vars %v", m.App.Vars)
	}
	if m.App.Limits.IdleTimeoutMs != 90000 {
		t.Errorf("idle_timeout %d", m.App.Limits.IdleTimeoutMs)
	}
	if !reflect.DeepEqual(m.Hosts, []string{"api.example.com"}) {
		t.Errorf("hosts %v", m.Hosts)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "{}", "null\n"} {
		m, err := Parse("kumo.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if !reflect.DeepEqual(m.App, app.Manifest{}) || m.Name != "" {
			t.Errorf("%q: %+v", src, m)
		}
	}
}

func TestParseJSON(t *testing.T) {
	m, err := Parse("kumo.json", []byte(`{"name": "hello", "limits": {"timeout": "10s"}, "vars": {"A": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "hello" || m.App.Limits.TimeoutMs != 10000 || m.App.Vars["A"] != "1" {
		t.Errorf("%+v", m)
	}
	got := parseErr(t, "kumo.json", "{\n  \"name\": \"a\",\n  \"kv\": [,]\n}")
	if !strings.HasPrefix(got, "kumo.json:3: invalid JSON") {
		t.Errorf("got %s", got)
	}
	// YAML syntax is not JSON.
	if got := parseErr(t, "kumo.json", "name: a\n"); !strings.Contains(got, "invalid JSON") {
		t.Errorf("got %s", got)
	}
	got = parseErr(t, "kumo.json", "{\n  \"name\": \"a\",\n  \"kvs\": []\n}")
	if got != `kumo.json:3: unknown key "kvs" in the top level (did you mean "kv"?)` {
		t.Errorf("got %s", got)
	}
}

func TestParseTooLarge(t *testing.T) {
	if _, err := Parse("kumo.yaml", bytes.Repeat([]byte("#"), MaxSize+1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateMergedManifest(t *testing.T) {
	err := Validate("photos", app.Manifest{
		Vars:     map[string]string{"TASKS": "x"},
		Queues:   app.Queues{Producers: []app.QueueProducer{{Binding: "TASKS", Queue: "tasks"}}},
		Services: []app.ServiceBinding{{Binding: "ME", App: "photos"}},
		Limits:   app.Limits{CPUMs: -5},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		`limits.cpu_ms: -5 must not be negative`,
		`queues.producers[0].binding: duplicate binding "TASKS": bound by vars.TASKS and by queues.producers[0].binding`,
		`services[0].app: "photos" is this app`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\nlacks %s", err, w)
		}
	}
	if err := Validate("", app.Manifest{Services: []app.ServiceBinding{{Binding: "ME", App: "photos"}}}); err != nil {
		t.Errorf("without an app name: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	m, err := Load(dir)
	if m != nil || err != nil {
		t.Fatalf("empty folder: %v %v", m, err)
	}
	write(t, filepath.Join(dir, "kumo.yml"), "name: a\n")
	m, err = Load(dir)
	if err != nil || m.Name != "a" || m.File != "kumo.yml" {
		t.Fatalf("kumo.yml: %+v %v", m, err)
	}
	write(t, filepath.Join(dir, "kumo.json"), "{}")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "several manifests (kumo.yml, kumo.json); keep one") {
		t.Fatalf("two manifests: %v", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFromArchive(t *testing.T) {
	m, err := FromArchive(tarGz(t, map[string]string{"app/index.ts": "x", "app/kumo.yaml": "name: wrapped\n"}), "tar.gz")
	if err != nil || m == nil || m.Name != "wrapped" {
		t.Fatalf("wrapped tar: %+v %v", m, err)
	}
	m, err = FromArchive(zipOf(t, map[string]string{"index.ts": "x", "kumo.json": `{"name": "zipped"}`, "sub/kumo.yaml": "name: no\n"}), "zip")
	if err != nil || m == nil || m.Name != "zipped" {
		t.Fatalf("zip: %+v %v", m, err)
	}
	m, err = FromArchive(tarGz(t, map[string]string{"index.ts": "x", "sub/kumo.yaml": "name: no\n"}), "tgz")
	if err != nil || m != nil {
		t.Fatalf("no manifest at the root: %+v %v", m, err)
	}
	if _, err := FromArchive(tarGz(t, map[string]string{"kumo.yaml": "kvs: []\n"}), "tar.gz"); err == nil || !strings.Contains(err.Error(), `kumo.yaml:1: unknown key "kvs"`) {
		t.Fatalf("bad manifest: %v", err)
	}
}

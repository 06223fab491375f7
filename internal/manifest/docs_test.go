package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot is where docs/ and examples/ are, seen from this package.
const repoRoot = "../.."

// TestSchemaMatchesParser keeps docs/kumo.schema.json and the parser from
// drifting: every object of the schema declares exactly the keys the
// parser accepts there, and refuses others.
func TestSchemaMatchesParser(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "kumo.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("docs/kumo.schema.json: %v", err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", schema["$schema"])
	}
	found := make(map[string][]string)
	var walk func(place string, node map[string]any)
	walk = func(place string, node map[string]any) {
		props, ok := node["properties"].(map[string]any)
		if !ok {
			return
		}
		if node["additionalProperties"] != false {
			t.Errorf("schema object %q does not set additionalProperties: false", place)
		}
		var keys []string
		for k, v := range props {
			keys = append(keys, k)
			child, _ := v.(map[string]any)
			sub := k
			if place != "" {
				sub = place + "." + k
			}
			if child["type"] == "array" {
				if items, ok := child["items"].(map[string]any); ok {
					walk(sub+"[]", items)
				}
				continue
			}
			walk(sub, child)
		}
		slices.Sort(keys)
		found[place] = keys
	}
	walk("", schema)
	for place, keys := range objectKeys {
		want := slices.Sorted(slices.Values(keys))
		if !slices.Equal(found[place], want) {
			t.Errorf("object %q: schema has %v, parser accepts %v", place, found[place], want)
		}
	}
	for place := range found {
		if _, ok := objectKeys[place]; !ok {
			t.Errorf("schema object %q is unknown to the parser", place)
		}
	}
}

// TestEveryKeyIsDecoded parses a manifest using every key the parser
// lists, so a key listed but not decoded (the decoder panics) is caught.
func TestEveryKeyIsDecoded(t *testing.T) {
	src := `
name: all
main: src/index.ts
limits: { cpu_ms: 1, memory_mb: 2, timeout: 3s, subrequests: 4, instances: 5, request_body_mb: 6, response_body_mb: 7, idle_timeout: 8s }
vars: { A: b }
kv: [ { binding: K, namespace: k } ]
buckets: [ { binding: B, bucket: b } ]
queues:
  producers: [ { binding: P, queue: p } ]
  consumers: [ { queue: p, max_retries: 1, retry_delay: 1s, dead_letter: d, batch: 2, ack_timeout: 2s } ]
crons: [ "@daily" ]
secrets: [ S ]
services: [ { binding: SVC, app: other, entrypoint: Api } ]
hosts: [ all.example.com ]
`
	if _, err := Parse("kumo.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, line := range strings.Split(src, "\n") {
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(" {}[],:", r) }) {
			used[f] = true
		}
	}
	for place, keys := range objectKeys {
		for _, k := range keys {
			if !used[k] {
				t.Errorf("key %q of %q is not exercised", k, place)
			}
		}
	}
}

// TestDocumentedManifestsParse parses the manifests shown in docs (YAML
// blocks whose first line is "# kumo.yaml", and every JSON block of
// docs/manifest.md) and those of examples/.
func TestDocumentedManifestsParse(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range fencedBlocks(string(data)) {
			var file string
			switch {
			case block.lang == "yaml" && strings.HasPrefix(block.body, "# kumo.yaml\n"):
				file = "kumo.yaml"
			case block.lang == "json" && filepath.Base(doc) == "manifest.md":
				file = "kumo.json"
			default:
				continue
			}
			n++
			if _, err := Parse(file, []byte(block.body)); err != nil {
				t.Errorf("%s, block %d (line %d):\n%v", doc, i, block.line, err)
			}
		}
	}
	if n < 2 {
		t.Errorf("found %d manifests in docs, want the examples of docs/manifest.md", n)
	}
	examples, err := os.ReadDir(filepath.Join(repoRoot, "examples"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range examples {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(repoRoot, "examples", e.Name())
		m, err := Load(dir)
		if err != nil {
			t.Errorf("examples/%s: %v", e.Name(), err)
		}
		if m != nil {
			found++
		}
	}
	if found == 0 {
		t.Error("no example has a manifest")
	}
}

type block struct {
	lang, body string
	line       int
}

// fencedBlocks returns the ``` fenced code blocks of a Markdown text.
func fencedBlocks(md string) []block {
	var out []block
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "```")
		if !ok {
			continue
		}
		start := i + 1
		j := start
		for j < len(lines) && strings.TrimSpace(lines[j]) != "```" {
			j++
		}
		out = append(out, block{lang: strings.Fields(lang + " x")[0], body: strings.Join(lines[start:j], "\n") + "\n", line: start + 1})
		i = j
	}
	return out
}

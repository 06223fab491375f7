package app

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "hello", "0", "my-app-2", strings.Repeat("a", 63)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "Hello", "a_b", "a.b", "a/b", "é", strings.Repeat("a", 64)} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", bad)
		}
	}
}

func TestHosts(t *testing.T) {
	if got := NormalizeHost(" API.Example.com.:8080 "); got != "api.example.com" {
		t.Errorf("NormalizeHost = %q", got)
	}
	for _, ok := range []string{"localhost", "api.example.com", "a-b.c0"} {
		if err := ValidHost(ok); err != nil {
			t.Errorf("ValidHost(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a..b", "-a.b", "a_b.c", "a b", "ex*.com"} {
		if err := ValidHost(bad); err == nil {
			t.Errorf("ValidHost(%q) = nil, want an error", bad)
		}
	}
	key := HostKey("api.example.com")
	if key != "hosts.api_example_com" {
		t.Errorf("HostKey = %q", key)
	}
	if h, ok := HostFromKey(key); !ok || h != "api.example.com" {
		t.Errorf("HostFromKey(%q) = %q, %v", key, h, ok)
	}
}

func content() Content {
	return Content{
		Code:      "export default {fetch(){return new Response('hi')}}",
		SourceMap: []byte(`{"version":3}`),
		Manifest: Manifest{
			Entry:  "index.ts",
			Limits: Limits{CPUMs: 50, MemoryMB: 64},
			Vars:   map[string]string{"B": "2", "A": "1", "C": "3"},
		},
	}
}

func TestEncodeContentDeterministic(t *testing.T) {
	d1, id1, err := EncodeContent(content())
	if err != nil {
		t.Fatal(err)
	}
	// Maps iterate in random order; encode many times to catch any
	// dependence on it.
	for range 20 {
		d2, id2, err := EncodeContent(content())
		if err != nil {
			t.Fatal(err)
		}
		if id1 != id2 || !bytes.Equal(d1, d2) {
			t.Fatalf("equal content gave ids %s and %s", id1, id2)
		}
	}
	if !ValidVersionID(id1) || ContentID(d1) != id1 {
		t.Errorf("id %q is not the hex SHA-256 of the data", id1)
	}

	// nil and empty encode alike.
	a, b := content(), content()
	a.Manifest.Vars, b.Manifest.Vars = nil, map[string]string{}
	a.SourceMap, b.SourceMap = nil, []byte{}
	_, ida, _ := EncodeContent(a)
	_, idb, _ := EncodeContent(b)
	if ida != idb {
		t.Errorf("nil and empty vars/source map gave different ids")
	}
}

func TestEncodeContentAnyChangeChangesID(t *testing.T) {
	_, base, err := EncodeContent(content())
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(c *Content){
		"code":       func(c *Content) { c.Code += " " },
		"source map": func(c *Content) { c.SourceMap = append(c.SourceMap, ' ') },
		"entry":      func(c *Content) { c.Manifest.Entry = "main.ts" },
		"cpu":        func(c *Content) { c.Manifest.Limits.CPUMs++ },
		"instances":  func(c *Content) { c.Manifest.Limits.Instances = 2 },
		"var value":  func(c *Content) { c.Manifest.Vars["A"] = "x" },
		"var added":  func(c *Content) { c.Manifest.Vars["D"] = "" },
		"var gone":   func(c *Content) { delete(c.Manifest.Vars, "A") },
	}
	seen := map[string]string{base: "base"}
	for name, change := range changes {
		c := content()
		change(&c)
		_, id, err := EncodeContent(c)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("change %q gave the same id as %q", name, prev)
		}
		seen[id] = name
	}
}

func TestContentRoundTrip(t *testing.T) {
	want := content()
	data, id, err := EncodeContent(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeContent(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	_, id2, _ := EncodeContent(got)
	if id2 != id {
		t.Errorf("re-encoding changed the id")
	}
	if _, err := DecodeContent(data[:len(data)-1]); err == nil {
		t.Errorf("truncated data decoded without error")
	}
}

func TestManifestValidate(t *testing.T) {
	if err := content().Manifest.Validate(); err != nil {
		t.Errorf("valid manifest: %v", err)
	}
	m := Manifest{Limits: Limits{CPUMs: -1}}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "cpu_ms") {
		t.Errorf("negative cpu: %v", err)
	}
	m = Manifest{Vars: map[string]string{"1x": ""}}
	if err := m.Validate(); err == nil {
		t.Errorf("bad var name accepted")
	}
}

func TestUsageTotalsMerge(t *testing.T) {
	a := UsageTotals{Requests: 1, Errors: 2, CPUUs: 3, WallUs: 4, MemByteMs: 5, BytesIn: 6, BytesOut: 7, ColdStarts: 8}
	b := a
	a.Merge(b)
	if a != (UsageTotals{2, 4, 6, 8, 10, 12, 14, 16}) {
		t.Errorf("Merge = %+v", a)
	}
}

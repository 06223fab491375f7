// Package manifest reads an app's kumo.yaml (or kumo.yml, kumo.json)
// strictly, into the per-version app.Manifest plus the app-level settings
// (name, entry, hosts), and validates manifests with every problem naming
// its key and, when read from a file, its line. docs/manifest.md is the
// schema; docs/kumo.schema.json publishes it as a JSON Schema.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kumo-dev/kumo/internal/app"
)

// DevVarsFile is the file of an app folder that holds kumo dev's secret
// values (KEY=VALUE lines). It is never bundled or deployed.
const DevVarsFile = ".dev.vars"

// MaxSize bounds a manifest file.
const MaxSize = 1 << 20

// fileNames are the names a manifest may have, in the order Load looks for
// them. Read only.
var fileNames = [...]string{"kumo.yaml", "kumo.yml", "kumo.json"}

// IsFileName reports whether name (a base name) is a manifest file name.
func IsFileName(name string) bool {
	for _, n := range fileNames {
		if n == name {
			return true
		}
	}
	return false
}

// Manifest is a parsed manifest file.
type Manifest struct {
	// File is the base name it was read from ("kumo.yaml").
	File string
	// Raw is the file's content as read: what `kumo deploy` sends.
	Raw []byte

	// Name is the app's name; "" when not given.
	Name string
	// Main is the entry file, relative to the app folder, slash-separated.
	Main string
	// Hosts are the hostnames the app claims, normalized.
	Hosts []string
	// App is what travels with each version: limits, vars, bindings and
	// triggers. Its Entry is left for the bundler to fill.
	App app.Manifest

	lines map[string]int // line of each key path
}

// Position returns "file:line" of a key path such as "services[0].app"
// (or of its nearest parent), or the file name alone when the line is
// unknown: the prefix of messages about that key.
func (m *Manifest) Position(path string) string {
	d := decoder{lines: m.lines}
	if l := d.lineOf(path); l > 0 {
		return m.File + ":" + strconv.Itoa(l)
	}
	return m.File
}

// Load reads the manifest of the app folder dir. It returns nil and no
// error when the folder has none, and an error when it has more than one.
func Load(dir string) (*Manifest, error) {
	var found []string
	for _, n := range fileNames {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
			found = append(found, n)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("reading manifest: %w", err)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("several manifests (%s); keep one", strings.Join(found, ", "))
	}
	f, err := os.Open(filepath.Join(dir, found[0]))
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", found[0], err)
	}
	return Parse(found[0], data)
}

// Parse parses and validates a manifest. file is its name, used in
// messages; a name ending in .json must hold JSON, anything else is read
// as YAML (which JSON is a subset of). Problems come back as an *Error
// listing each with its line.
func Parse(file string, data []byte) (*Manifest, error) {
	if file == "" {
		file = "kumo.yaml"
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, MaxSize)
	}
	d := &decoder{file: file, lines: make(map[string]int)}
	if strings.HasSuffix(strings.ToLower(file), ".json") {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			line := 0
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			}
			return nil, &Error{Problems: []Problem{{File: file, Line: line, Msg: "invalid JSON: " + err.Error()}}}
		}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []Problem{yamlProblem(file, err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Problems: []Problem{{File: file, Line: extra.Line, Msg: "more than one YAML document; a manifest is one document"}}}
	} else if !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []Problem{yamlProblem(file, err)}}
	}
	m := &Manifest{File: file, Raw: data, lines: d.lines}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root := doc.Content[0]
		if root.ShortTag() != "!!null" {
			d.top(root, m)
		}
	}
	if len(d.probs) == 0 { // validating a half-read manifest reports echoes
		d.probs = append(d.probs, validate(m.Name, m.App)...)
		d.probs = append(d.probs, validateAppLevel(m)...)
	}
	if len(d.probs) > 0 {
		return nil, d.err()
	}
	return m, nil
}

// yamlLine matches the position yaml.v3 puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func yamlProblem(file string, err error) Problem {
	msg := err.Error()
	line := 0
	if sm := yamlLine.FindStringSubmatch(msg); sm != nil {
		line, _ = strconv.Atoi(sm[1])
		msg = msg[len(sm[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return Problem{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// Problem is one thing wrong with a manifest.
type Problem struct {
	File string // "" when the manifest did not come from a file
	Line int    // 0 when unknown
	// Path is the key at fault, e.g. "queues.consumers[0].dead_letter";
	// "" when Msg names it.
	Path string
	Msg  string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in a manifest, in file order.
type Error struct {
	Problems []Problem
}

// maxShown bounds the problems Error prints.
const maxShown = 20

func (e *Error) Error() string {
	lines := make([]string, 0, min(len(e.Problems), maxShown)+1)
	for i, p := range e.Problems {
		if i == maxShown {
			lines = append(lines, fmt.Sprintf("... and %d more", len(e.Problems)-maxShown))
			break
		}
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

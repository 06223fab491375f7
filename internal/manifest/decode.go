package manifest

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kumo-dev/kumo/internal/app"
)

// objectKeys lists the keys each object of the manifest may have, by its
// place in the schema: "" is the top level, "kv[]" an entry of kv. The
// decoder refuses any other key; a test checks that docs/kumo.schema.json
// declares exactly these. Read only.
var objectKeys = map[string][]string{
	"":                   {"name", "main", "limits", "vars", "kv", "buckets", "queues", "crons", "secrets", "services", "hosts"},
	"limits":             {"cpu_ms", "memory_mb", "timeout", "subrequests", "instances", "request_body_mb", "response_body_mb", "idle_timeout"},
	"kv[]":               {"binding", "namespace"},
	"buckets[]":          {"binding", "bucket"},
	"queues":             {"producers", "consumers"},
	"queues.producers[]": {"binding", "queue"},
	"queues.consumers[]": {"queue", "max_retries", "retry_delay", "dead_letter", "batch", "ack_timeout"},
	"services[]":         {"binding", "app", "entrypoint"},
}

// aliases are keys people bring from other platforms' config files, and
// the key Kumo spells them with. Read only.
var aliases = map[string]string{
	"entry": "main", "env": "vars", "environment": "vars",
	"kv_namespaces": "kv", "r2_buckets": "buckets", "triggers": "crons",
	"routes": "hosts", "routes_hosts": "hosts", "domains": "hosts",
	"timeout_ms": "timeout", "idle_timeout_ms": "idle_timeout",
	"retry_delay_ms": "retry_delay", "ack_timeout_ms": "ack_timeout",
	"max_batch_size": "batch", "dead_letter_queue": "dead_letter",
}

// decoder walks a YAML node tree into a Manifest, collecting problems and
// the line of every key path for the validation problems found later.
type decoder struct {
	file  string
	probs []Problem
	lines map[string]int
}

func (d *decoder) problem(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems, sorted by line, as an *Error.
func (d *decoder) err() *Error {
	for i := range d.probs {
		p := &d.probs[i]
		if p.Line == 0 && p.Path != "" {
			p.Line = d.lineOf(p.Path)
		}
		p.File = d.file
	}
	sort.SliceStable(d.probs, func(i, j int) bool { return d.probs[i].Line < d.probs[j].Line })
	return &Error{Problems: d.probs}
}

// lineOf returns the line of path or, failing that, of its nearest parent.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// kindName describes a node's type for "want X, found Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing (null)"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// object walks the mapping n, the object of schema place `place` at key
// path `path`, calling f for each known key. Unknown and repeated keys are
// problems.
func (d *decoder) object(n *yaml.Node, place, path string, f func(key, kpath string, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "want a mapping of keys, found %s", kindName(n))
		return
	}
	known := objectKeys[place]
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.problem(k, "", "merge keys and complex keys are not supported in %s", where(path))
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			d.problem(k, "", "key %q repeated in %s (first at line %d)", key, where(path), first)
			continue
		}
		seen[key] = k.Line
		if !slices.Contains(known, key) {
			d.problem(k, "", "unknown key %q in %s%s", key, where(path), suggest(key, known))
			continue
		}
		kpath := join(path, key)
		d.lines[kpath] = k.Line
		f(key, kpath, v)
	}
}

func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest returns ` (did you mean "x"?)` for the known key closest to key,
// or "".
func suggest(key string, known []string) string {
	if a, ok := aliases[strings.ToLower(key)]; ok && slices.Contains(known, a) {
		return fmt.Sprintf(" (did you mean %q?)", a)
	}
	best, bestD := "", 0
	lk := strings.ToLower(key)
	for _, k := range known {
		dist := levenshtein(lk, k)
		if dist <= max(2, len(k)/3) && (best == "" || dist < bestD) {
			best, bestD = k, dist
		}
	}
	if best == "" {
		for _, k := range known {
			if len(lk) >= 3 && (strings.Contains(k, lk) || strings.Contains(lk, k)) {
				best = k
				break
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// list walks the sequence n at path, calling f with each element's path.
func (d *decoder) list(n *yaml.Node, path string, f func(epath string, e *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, "want a list, found %s", kindName(n))
		return
	}
	for i, e := range n.Content {
		epath := path + "[" + strconv.Itoa(i) + "]"
		d.lines[epath] = e.Line
		f(epath, resolve(e))
	}
}

func (d *decoder) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			hint = fmt.Sprintf(" (quote it: \"%s\")", n.Value)
		}
		d.problem(n, path, "want a string, found %s%s", kindName(n), hint)
		return ""
	}
	return n.Value
}

func (d *decoder) strings(n *yaml.Node, path string) []string {
	var out []string
	d.list(n, path, func(epath string, e *yaml.Node) {
		out = append(out, d.str(e, epath))
	})
	return out
}

func (d *decoder) int(n *yaml.Node, path string) int64 {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.problem(n, path, "want a whole number, found %s", kindName(n))
		return 0
	}
	if v < 0 {
		d.problem(n, path, "%d must not be negative", v)
		return 0
	}
	return v
}

// positive reads a whole number of at least 1: in the stored manifest 0
// means "the default", so an explicit 0 would be silently replaced by it.
func (d *decoder) positive(n *yaml.Node, path, def string) int64 {
	before := len(d.probs)
	v := d.int(n, path)
	if v == 0 && len(d.probs) == before {
		d.problem(n, path, "must be at least 1 (leave it out for the default, %s)", def)
	}
	return v
}

// maxDuration bounds every duration of a manifest.
const maxDuration = 24 * time.Hour

// durationMs reads a duration string ("30s", "1m30s", "500ms") as
// milliseconds.
func (d *decoder) durationMs(n *yaml.Node, path string) int64 {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.problem(n, path, "want a duration with a unit such as \"30s\" or \"500ms\", found %s", kindName(n))
		return 0
	}
	v, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		d.problem(n, path, "%q is not a duration: use a number and a unit (ms, s, m, h), e.g. \"30s\"", n.Value)
		return 0
	case v < 0:
		d.problem(n, path, "%q must not be negative", n.Value)
		return 0
	case v%time.Millisecond != 0:
		d.problem(n, path, "%q: durations are whole milliseconds", n.Value)
		return 0
	case v > maxDuration:
		d.problem(n, path, "%q is longer than %v", n.Value, maxDuration)
		return 0
	}
	return v.Milliseconds()
}

// vars reads a mapping of names to strings; numbers and booleans are
// taken as written.
func (d *decoder) vars(n *yaml.Node, path string) map[string]string {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "want a mapping of names to values, found %s", kindName(n))
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.problem(k, path, "merge keys and complex keys are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problem(k, "", "key %q repeated in %s (first at line %d)", k.Value, path, first)
			continue
		}
		seen[k.Value] = k.Line
		kpath := path + "." + k.Value
		d.lines[kpath] = k.Line
		switch {
		case v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null":
			d.problem(v, kpath, "want a string, number or boolean, found %s", kindName(v))
		case v.ShortTag() == "!!str" || v.ShortTag() == "!!int" || v.ShortTag() == "!!float" || v.ShortTag() == "!!bool":
			out[k.Value] = v.Value
		default:
			d.problem(v, kpath, "want a string, number or boolean, found %s", kindName(v))
		}
	}
	return out
}

// top decodes the top level of a manifest into m.
func (d *decoder) top(n *yaml.Node, m *Manifest) {
	a := &m.App
	d.object(n, "", "", func(key, p string, v *yaml.Node) {
		switch key {
		case "name":
			m.Name = d.str(v, p)
		case "main":
			m.Main = d.str(v, p)
		case "hosts":
			m.Hosts = d.strings(v, p)
		case "limits":
			d.limits(v, p, &a.Limits)
		case "vars":
			a.Vars = d.vars(v, p)
		case "kv":
			d.list(v, p, func(ep string, e *yaml.Node) {
				var b app.KVBinding
				d.object(e, "kv[]", ep, func(key, kp string, v *yaml.Node) {
					switch key {
					case "binding":
						b.Binding = d.str(v, kp)
					case "namespace":
						b.Namespace = d.str(v, kp)
					}
				})
				a.KV = append(a.KV, b)
			})
		case "buckets":
			d.list(v, p, func(ep string, e *yaml.Node) {
				var b app.BucketBinding
				d.object(e, "buckets[]", ep, func(key, kp string, v *yaml.Node) {
					switch key {
					case "binding":
						b.Binding = d.str(v, kp)
					case "bucket":
						b.Bucket = d.str(v, kp)
					}
				})
				a.Buckets = append(a.Buckets, b)
			})
		case "queues":
			d.queues(v, p, &a.Queues)
		case "crons":
			a.Crons = d.strings(v, p)
		case "secrets":
			a.Secrets = d.strings(v, p)
		case "services":
			d.list(v, p, func(ep string, e *yaml.Node) {
				var b app.ServiceBinding
				d.object(e, "services[]", ep, func(key, kp string, v *yaml.Node) {
					switch key {
					case "binding":
						b.Binding = d.str(v, kp)
					case "app":
						b.App = d.str(v, kp)
					case "entrypoint":
						b.Entrypoint = d.str(v, kp)
					}
				})
				a.Services = append(a.Services, b)
			})
		default:
			panic("manifest: objectKeys lists " + key + " but the decoder does not handle it")
		}
	})
}

func (d *decoder) limits(n *yaml.Node, path string, l *app.Limits) {
	d.object(n, "limits", path, func(key, p string, v *yaml.Node) {
		switch key {
		case "cpu_ms":
			l.CPUMs = d.int(v, p)
		case "memory_mb":
			l.MemoryMB = d.int(v, p)
		case "timeout":
			l.TimeoutMs = d.durationMs(v, p)
		case "subrequests":
			l.Subrequests = d.int(v, p)
		case "instances":
			l.Instances = d.int(v, p)
		case "request_body_mb":
			l.RequestBodyMB = d.int(v, p)
		case "response_body_mb":
			l.ResponseBodyMB = d.int(v, p)
		case "idle_timeout":
			l.IdleTimeoutMs = d.durationMs(v, p)
		default:
			panic("manifest: objectKeys lists limits." + key + " but the decoder does not handle it")
		}
	})
}

func (d *decoder) queues(n *yaml.Node, path string, q *app.Queues) {
	d.object(n, "queues", path, func(key, p string, v *yaml.Node) {
		switch key {
		case "producers":
			d.list(v, p, func(ep string, e *yaml.Node) {
				var b app.QueueProducer
				d.object(e, "queues.producers[]", ep, func(key, kp string, v *yaml.Node) {
					switch key {
					case "binding":
						b.Binding = d.str(v, kp)
					case "queue":
						b.Queue = d.str(v, kp)
					}
				})
				q.Producers = append(q.Producers, b)
			})
		case "consumers":
			d.list(v, p, func(ep string, e *yaml.Node) {
				var c app.QueueConsumer
				d.object(e, "queues.consumers[]", ep, func(key, kp string, v *yaml.Node) {
					switch key {
					case "queue":
						c.Queue = d.str(v, kp)
					case "max_retries":
						c.MaxRetries = int(min(d.positive(v, kp, "3"), 1<<30))
					case "retry_delay":
						c.RetryDelayMs = d.durationMs(v, kp)
					case "dead_letter":
						c.DeadLetter = d.str(v, kp)
					case "batch":
						c.Batch = int(min(d.positive(v, kp, "10"), 1<<30))
					case "ack_timeout":
						c.AckTimeoutMs = d.durationMs(v, kp)
					}
				})
				q.Consumers = append(q.Consumers, c)
			})
		}
	})
}

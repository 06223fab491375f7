package manifest

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kumo-dev/kumo/internal/app"
)

// Bounds of the queue consumer settings.
const (
	MaxRetries    = 100
	MaxBatch      = 100
	MinAckTimeout = 1000 // ms
)

// maxIdentLen bounds binding, var and secret names.
const maxIdentLen = 256

// ValidBindingName reports, as an error, whether name can be a binding in
// env: a JavaScript identifier, [A-Za-z_$][A-Za-z0-9_$]*.
func ValidBindingName(name string) error {
	if name == "" {
		return fmt.Errorf("binding name is empty")
	}
	if len(name) > maxIdentLen {
		return fmt.Errorf("binding name %q is longer than %d characters", name, maxIdentLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("binding name %q must be a JavaScript identifier ([A-Za-z_$][A-Za-z0-9_$]*)", name)
		}
	}
	return nil
}

// ValidSecretName reports, as an error, whether name can name a var or a
// secret: [A-Za-z_][A-Za-z0-9_]*, as environment variables are named.
// ('$' is refused because the name is part of a store key.)
func ValidSecretName(name string) error {
	if name == "" {
		return fmt.Errorf("name is empty")
	}
	if len(name) > maxIdentLen {
		return fmt.Errorf("name %q is longer than %d characters", name, maxIdentLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("name %q must match [A-Za-z_][A-Za-z0-9_]*", name)
		}
	}
	return nil
}

// ValidResourceName reports, as an error, whether name can name a queue,
// KV namespace or bucket: [a-z0-9][a-z0-9-]{0,62}, like app names.
func ValidResourceName(name string) error {
	if name == "" {
		return fmt.Errorf("name is empty")
	}
	if len(name) > 63 {
		return fmt.Errorf("%q is longer than 63 characters", name)
	}
	if name[0] == '-' {
		return fmt.Errorf("%q must start with a lowercase letter or digit", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%q: character %q not allowed (use a-z, 0-9 and -)", name, rune(c))
		}
	}
	return nil
}

// Namespace is the KV namespace a binding uses: its namespace, or its
// binding name lowercased.
func Namespace(b app.KVBinding) string {
	if b.Namespace != "" {
		return b.Namespace
	}
	return strings.ToLower(b.Binding)
}

// Bucket is the bucket a binding uses: its bucket, or its binding name
// lowercased.
func Bucket(b app.BucketBinding) string {
	if b.Bucket != "" {
		return b.Bucket
	}
	return strings.ToLower(b.Binding)
}

// Validate checks a version's manifest (possibly merged with deploy flags)
// for app appName, and returns every problem as an *Error, each naming its
// key. With appName "" the check that services do not bind the app itself
// is skipped.
func Validate(appName string, m app.Manifest) error {
	if probs := validate(appName, m); len(probs) > 0 {
		return &Error{Problems: probs}
	}
	return nil
}

func validate(appName string, m app.Manifest) []Problem {
	var probs []Problem
	bad := func(path, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	idx := func(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

	// Limits: the decoder refuses negatives; flags and the API may not.
	l := m.Limits
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"cpu_ms", l.CPUMs}, {"timeout", l.TimeoutMs}, {"memory_mb", l.MemoryMB},
		{"subrequests", l.Subrequests}, {"instances", l.Instances},
		{"request_body_mb", l.RequestBodyMB}, {"response_body_mb", l.ResponseBodyMB},
		{"idle_timeout", l.IdleTimeoutMs},
	} {
		if f.v < 0 {
			bad("limits."+f.name, "%d must not be negative", f.v)
		}
	}

	// Every name in env, with the place that binds it.
	bound := make(map[string]string)
	bind := func(name, path string) {
		if first, dup := bound[name]; dup {
			bad(path, "duplicate binding %q: bound by %s and by %s", name, first, path)
			return
		}
		bound[name] = path
	}
	varNames := make([]string, 0, len(m.Vars))
	for k := range m.Vars {
		varNames = append(varNames, k)
	}
	sort.Strings(varNames)
	for _, k := range varNames {
		p := "vars." + k
		if err := ValidSecretName(k); err != nil {
			bad(p, "var %v", err)
			continue
		}
		bind(k, p)
	}
	for i, s := range m.Secrets {
		p := idx("secrets", i)
		if err := ValidSecretName(s); err != nil {
			bad(p, "secret %v", err)
			continue
		}
		bind(s, p)
	}
	bindingName := func(name, path string) {
		if err := ValidBindingName(name); err != nil {
			bad(path, "%v", err)
			return
		}
		bind(name, path)
	}
	for i, b := range m.KV {
		p := idx("kv", i)
		bindingName(b.Binding, p+".binding")
		if b.Namespace != "" {
			if err := ValidResourceName(b.Namespace); err != nil {
				bad(p+".namespace", "namespace %v", err)
			}
		} else if b.Binding != "" && ValidResourceName(Namespace(b)) != nil {
			bad(p, "binding %q needs a namespace: its lowercased name %q is not a valid namespace name ([a-z0-9][a-z0-9-]{0,62}); add namespace: %s",
				b.Binding, Namespace(b), suggestResource(b.Binding))
		}
	}
	for i, b := range m.Buckets {
		p := idx("buckets", i)
		bindingName(b.Binding, p+".binding")
		if b.Bucket != "" {
			if err := ValidResourceName(b.Bucket); err != nil {
				bad(p+".bucket", "bucket %v", err)
			}
		} else if b.Binding != "" && ValidResourceName(Bucket(b)) != nil {
			bad(p, "binding %q needs a bucket: its lowercased name %q is not a valid bucket name ([a-z0-9][a-z0-9-]{0,62}); add bucket: %s",
				b.Binding, Bucket(b), suggestResource(b.Binding))
		}
	}
	for i, q := range m.Queues.Producers {
		p := idx("queues.producers", i)
		bindingName(q.Binding, p+".binding")
		if err := ValidResourceName(q.Queue); err != nil {
			bad(p+".queue", "queue %v", err)
		}
	}
	consumed := make(map[string]string)
	for i, c := range m.Queues.Consumers {
		p := idx("queues.consumers", i)
		if err := ValidResourceName(c.Queue); err != nil {
			bad(p+".queue", "queue %v", err)
		} else if first, dup := consumed[c.Queue]; dup {
			bad(p+".queue", "queue %q is already consumed by %s", c.Queue, first)
		} else {
			consumed[c.Queue] = p
		}
		if c.DeadLetter != "" {
			if err := ValidResourceName(c.DeadLetter); err != nil {
				bad(p+".dead_letter", "queue %v", err)
			} else if c.DeadLetter == c.Queue {
				bad(p+".dead_letter", "%q is the queue itself: a dead-letter queue must be another queue", c.DeadLetter)
			}
		}
		if c.MaxRetries < 0 || c.MaxRetries > MaxRetries {
			bad(p+".max_retries", "%d: must be between 1 and %d (absent: the default)", c.MaxRetries, MaxRetries)
		}
		if c.Batch < 0 || c.Batch > MaxBatch {
			bad(p+".batch", "%d: must be between 1 and %d (absent: the default)", c.Batch, MaxBatch)
		}
		if c.RetryDelayMs < 0 || c.RetryDelayMs > maxDuration.Milliseconds() {
			bad(p+".retry_delay", "must be between 0 and %v", maxDuration)
		}
		if c.AckTimeoutMs != 0 && (c.AckTimeoutMs < MinAckTimeout || c.AckTimeoutMs > maxDuration.Milliseconds()) {
			bad(p+".ack_timeout", "must be between 1s and %v", maxDuration)
		}
	}
	crons := make(map[string]string)
	for i, c := range m.Crons {
		p := idx("crons", i)
		s, err := ParseCron(c)
		if err != nil {
			bad(p, "%v", err)
			continue
		}
		if first, dup := crons[s.String()]; dup {
			bad(p, "cron %q repeats %s", c, first)
			continue
		}
		crons[s.String()] = p
	}
	for i, s := range m.Services {
		p := idx("services", i)
		bindingName(s.Binding, p+".binding")
		if err := app.ValidName(s.App); err != nil {
			bad(p+".app", "%v", err)
		} else if appName != "" && s.App == appName {
			bad(p+".app", "%q is this app: a service binding names another app (call your own code directly)", s.App)
		}
		if s.Entrypoint != "" {
			if err := ValidBindingName(s.Entrypoint); err != nil {
				bad(p+".entrypoint", "entrypoint %q must be the name of an exported class (a JavaScript identifier)", s.Entrypoint)
			}
		}
	}
	return probs
}

// suggestResource turns a binding name into a resource name a person
// would likely pick: lowercased, '_' and '$' as '-'.
func suggestResource(binding string) string {
	s := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		}
		return '-'
	}, binding), "-")
	if s == "" {
		return "data"
	}
	return s
}

// validateAppLevel checks the settings that are not part of a version:
// name, main and hosts (normalized in place).
func validateAppLevel(m *Manifest) []Problem {
	var probs []Problem
	if m.Name != "" {
		if err := app.ValidName(m.Name); err != nil {
			probs = append(probs, Problem{Path: "name", Msg: err.Error()})
		}
	}
	if m.Main != "" {
		local := filepath.FromSlash(m.Main)
		if strings.ContainsRune(m.Main, '\\') || !filepath.IsLocal(local) {
			probs = append(probs, Problem{Path: "main", Msg: fmt.Sprintf("%q must be a relative path inside the app folder, with /", m.Main)})
		}
	}
	for i, h := range m.Hosts {
		h = app.NormalizeHost(h)
		if err := app.ValidHost(h); err != nil {
			probs = append(probs, Problem{Path: "hosts[" + strconv.Itoa(i) + "]", Msg: err.Error()})
			continue
		}
		m.Hosts[i] = h
	}
	return probs
}

package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/fxamacker/cbor/v2"
)

// Content is what a version is: its code, source map and manifest. Its
// canonical encoding is stored as the blob kumo_bundles/<id>, and id is the
// SHA-256 of that encoding (see EncodeContent).
type Content struct {
	Code      string   `cbor:"code" json:"code"`
	SourceMap []byte   `cbor:"source_map,omitempty" json:"source_map,omitempty"`
	Manifest  Manifest `cbor:"manifest" json:"manifest"`
}

// Manifest is the per-version configuration that travels with the code.
type Manifest struct {
	// Entry is the entry file the bundle was built from (informational).
	Entry  string            `cbor:"entry,omitempty" json:"entry,omitempty"`
	Limits Limits            `cbor:"limits" json:"limits"`
	Vars   map[string]string `cbor:"vars,omitempty" json:"vars,omitempty"`

	// Bindings and triggers (kumo.yaml). Every field is omitted when
	// empty, so versions without them keep their ids.
	KV       []KVBinding      `cbor:"kv,omitempty" json:"kv,omitempty"`
	Buckets  []BucketBinding  `cbor:"buckets,omitempty" json:"buckets,omitempty"`
	Queues   Queues           `cbor:"queues,omitzero" json:"queues,omitzero"`
	Crons    []string         `cbor:"crons,omitempty" json:"crons,omitempty"`
	Secrets  []string         `cbor:"secrets,omitempty" json:"secrets,omitempty"` // names only; values live encrypted in the store
	Services []ServiceBinding `cbor:"services,omitempty" json:"services,omitempty"`
}

// KVBinding binds a KV namespace of the app to env[Binding]. Namespace
// defaults to the binding name lowercased; two bindings of one app may
// share a namespace.
type KVBinding struct {
	Binding   string `cbor:"binding" json:"binding"`
	Namespace string `cbor:"namespace,omitempty" json:"namespace,omitempty"`
}

// BucketBinding binds a blob bucket of the app to env[Binding]; Bucket
// defaults to the binding name lowercased.
type BucketBinding struct {
	Binding string `cbor:"binding" json:"binding"`
	Bucket  string `cbor:"bucket,omitempty" json:"bucket,omitempty"`
}

// Queues declares the app's queue producers and consumers.
type Queues struct {
	Producers []QueueProducer `cbor:"producers,omitempty" json:"producers,omitempty"`
	Consumers []QueueConsumer `cbor:"consumers,omitempty" json:"consumers,omitempty"`
}

// QueueProducer binds env[Binding] to send to Queue (of this app).
type QueueProducer struct {
	Binding string `cbor:"binding" json:"binding"`
	Queue   string `cbor:"queue" json:"queue"`
}

// QueueConsumer makes the app's queue handler consume Queue.
type QueueConsumer struct {
	Queue        string `cbor:"queue" json:"queue"`
	MaxRetries   int    `cbor:"max_retries,omitempty" json:"max_retries,omitempty"`       // deliveries after the first; default 3
	RetryDelayMs int64  `cbor:"retry_delay_ms,omitempty" json:"retry_delay_ms,omitempty"` // default delay of a retry
	DeadLetter   string `cbor:"dead_letter,omitempty" json:"dead_letter,omitempty"`       // queue that receives messages out of retries
	Batch        int    `cbor:"batch,omitempty" json:"batch,omitempty"`                   // messages per invocation; default 10
	AckTimeoutMs int64  `cbor:"ack_timeout_ms,omitempty" json:"ack_timeout_ms,omitempty"` // redelivery when not acked in time; default 30s
}

// ServiceBinding binds env[Binding] to another app: its fetch handler
// and, with Entrypoint, the methods of that exported class.
type ServiceBinding struct {
	Binding    string `cbor:"binding" json:"binding"`
	App        string `cbor:"app" json:"app"`
	Entrypoint string `cbor:"entrypoint,omitempty" json:"entrypoint,omitempty"`
}

// Limits are an app's per-invocation limits in a plain, serialisable form;
// a zero field means the platform default. Package appruntime converts
// them to runtime.Limits, which also checks their ranges.
//
// Every field is omitted from the encoding when zero, so adding a field
// later does not change the id of any existing version.
type Limits struct {
	CPUMs          int64 `cbor:"cpu_ms,omitempty" json:"cpu_ms,omitempty"`         // JS execution time per invocation
	TimeoutMs      int64 `cbor:"timeout_ms,omitempty" json:"timeout_ms,omitempty"` // wall time per invocation
	MemoryMB       int64 `cbor:"memory_mb,omitempty" json:"memory_mb,omitempty"`   // heap per instance
	Subrequests    int64 `cbor:"subrequests,omitempty" json:"subrequests,omitempty"`
	Instances      int64 `cbor:"instances,omitempty" json:"instances,omitempty"` // concurrent instances per version
	RequestBodyMB  int64 `cbor:"request_body_mb,omitempty" json:"request_body_mb,omitempty"`
	ResponseBodyMB int64 `cbor:"response_body_mb,omitempty" json:"response_body_mb,omitempty"`
	IdleTimeoutMs  int64 `cbor:"idle_timeout_ms,omitempty" json:"idle_timeout_ms,omitempty"`
}

// Validate checks what can be checked without the runtime: no negative
// limit, var names that are identifiers.
func (m Manifest) Validate() error {
	l := m.Limits
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"cpu_ms", l.CPUMs}, {"timeout_ms", l.TimeoutMs}, {"memory_mb", l.MemoryMB},
		{"subrequests", l.Subrequests}, {"instances", l.Instances},
		{"request_body_mb", l.RequestBodyMB}, {"response_body_mb", l.ResponseBodyMB},
		{"idle_timeout_ms", l.IdleTimeoutMs},
	} {
		if f.v < 0 {
			return fmt.Errorf("limits.%s %d must not be negative", f.name, f.v)
		}
	}
	names := make([]string, 0, len(m.Vars))
	for k := range m.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !validVarName(k) {
			return fmt.Errorf("var %q: names must match [A-Za-z_][A-Za-z0-9_]*", k)
		}
	}
	return nil
}

func validVarName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// encMode is RFC 8949 core deterministic encoding (sorted map keys,
// shortest forms, no indefinite lengths). It is immutable.
var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options; cannot fail
	}
	return em
}()

// decMode refuses duplicate map keys and unknown fields, so a blob decodes
// only if it could have been produced by EncodeContent.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		IndefLength:       cbor.IndefLengthForbidden,
	}.DecMode()
	if err != nil {
		panic(err) // static options; cannot fail
	}
	return dm
}()

// EncodeContent returns the canonical CBOR encoding of c and its id, the hex
// SHA-256 of those bytes. Equal content gives equal bytes and id; a nil and
// an empty map or source map encode the same.
func EncodeContent(c Content) (data []byte, id string, err error) {
	data, err = encMode.Marshal(c)
	if err != nil {
		return nil, "", fmt.Errorf("encoding version content: %w", err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// DecodeContent decodes a blob written by EncodeContent.
func DecodeContent(data []byte) (Content, error) {
	var c Content
	if err := decMode.Unmarshal(data, &c); err != nil {
		return Content{}, fmt.Errorf("decoding version content: %w", err)
	}
	return c, nil
}

// ContentID is the id EncodeContent would give data: its hex SHA-256.
func ContentID(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

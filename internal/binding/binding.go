// Package binding defines the capabilities an app's env exposes (KV
// namespaces, buckets, queue producers, services, vars and secrets) as Go
// interfaces: the Web API ops call them, store-backed packages implement
// them, and the runtime hands a version's Set to its instances.
package binding

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Set is every binding of one version, by the name the app gives it in
// env. Implementations are shared by all instances of the version and
// must be safe for concurrent use.
type Set struct {
	Vars     map[string]string
	Secrets  map[string]string
	KV       map[string]KV
	Buckets  map[string]Bucket
	Queues   map[string]Queue
	Services map[string]Service
}

// Kind names a binding type as the JavaScript env descriptor spells it.
type Kind string

const (
	KindVar     Kind = "var"
	KindSecret  Kind = "secret"
	KindKV      Kind = "kv"
	KindBucket  Kind = "bucket"
	KindQueue   Kind = "queue"
	KindService Kind = "service"
)

// KV is a key-value namespace (Workers KV shape).
type KV interface {
	// Get returns the value, or nil and no error when the key is absent
	// or expired.
	Get(ctx context.Context, key string) (*KVValue, error)
	Put(ctx context.Context, key string, value []byte, opts KVPutOptions) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, opts KVListOptions) (*KVList, error)
}

// KVValue is a stored value with its metadata.
type KVValue struct {
	Value      []byte
	Metadata   []byte // JSON text, nil when none
	Expiration int64  // unix seconds, 0 when none
}

// KVPutOptions are the options of KV.Put.
type KVPutOptions struct {
	TTL        time.Duration // 0: no expiry
	Expiration time.Time     // zero: none; TTL wins when both are set
	Metadata   []byte        // JSON text
}

// KVListOptions are the options of KV.List.
type KVListOptions struct {
	Prefix string
	Cursor string
	Limit  int // 0: 1000
}

// KVList is one page of keys, in key order.
type KVList struct {
	Keys     []KVKey
	Cursor   string
	Complete bool
}

// KVKey is one listed key.
type KVKey struct {
	Name       string
	Expiration int64
	Metadata   []byte
}

// Bucket is a blob store (R2 shape): objects stream in and out.
type Bucket interface {
	Put(ctx context.Context, key string, body io.Reader, opts ObjectPutOptions) (*ObjectInfo, error)
	// Get returns nil info, nil body and no error when the key is absent.
	Get(ctx context.Context, key string) (*ObjectInfo, io.ReadCloser, error)
	Head(ctx context.Context, key string) (*ObjectInfo, error)
	Delete(ctx context.Context, keys ...string) error
	List(ctx context.Context, opts ObjectListOptions) (*ObjectList, error)
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key            string
	Size           int64
	ETag           string
	Uploaded       time.Time
	HTTPMetadata   map[string]string // contentType, contentLanguage, ...
	CustomMetadata map[string]string
}

// ObjectPutOptions are the options of Bucket.Put.
type ObjectPutOptions struct {
	HTTPMetadata   map[string]string
	CustomMetadata map[string]string
}

// ObjectListOptions are the options of Bucket.List.
type ObjectListOptions struct {
	Prefix    string
	Cursor    string
	Delimiter string
	Limit     int // 0: 1000
}

// ObjectList is one page of a listing.
type ObjectList struct {
	Objects           []ObjectInfo
	DelimitedPrefixes []string
	Cursor            string
	Truncated         bool
}

// Queue is a queue producer.
type Queue interface {
	Send(ctx context.Context, msgs []QueueMessage) error
}

// QueueMessage is one message to send.
type QueueMessage struct {
	Body        []byte
	ContentType string // "json", "text" or "bytes": how the consumer decodes Body
	Delay       time.Duration
}

// Service is another app reachable in process: its fetch handler and the
// methods of its entrypoint.
type Service interface {
	Fetch(ctx context.Context, req *ServiceRequest) (*ServiceResponse, error)
	// Call invokes method with arguments serialised by the caller's
	// structured serialisation; the result comes back the same way.
	Call(ctx context.Context, method string, args []byte) ([]byte, error)
}

// ServiceRequest is a request passed to another app's fetch handler.
type ServiceRequest struct {
	Method, URL string
	Headers     string // "name:value\n" lines, lowercase names
	Body        io.ReadCloser
}

// ServiceResponse is what the other app answered.
type ServiceResponse struct {
	Status  int
	Headers string // "name:value\n" lines
	Body    io.ReadCloser
}

// ServiceError is a service call the platform could not complete: no such
// app, no active version, overload, or a limit the called app hit. An
// exception thrown by the called app's code is not one: it comes back as
// the engine's *engine.Exception, its name and message kept.
type ServiceError struct {
	App    string // the app called
	Reason string // as usage outcomes and the Kumo-Error header name it: "no-app", "overloaded", "exceeded-cpu", ...
	Msg    string // one sentence for people
	Err    error  // the cause, when there is one (e.g. *engine.LimitError)
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("app %q: %s (%s)", e.App, e.Msg, e.Reason)
}

func (e *ServiceError) Unwrap() error { return e.Err }

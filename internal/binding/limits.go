package binding

import (
	"errors"
	"fmt"
)

// Limits of KV namespaces and buckets, shared by the implementations (which
// enforce them), the Web API ops (which bound what they read before calling
// them) and the control plane.
const (
	KVMaxKeyBytes      = 512      // a KV key, UTF-8
	KVMaxValueBytes    = 25 << 20 // a KV value
	KVMaxMetadataBytes = 1024     // a KV value's metadata, serialised JSON
	KVMaxListLimit     = 1000     // keys in one KV list page (also the default)
	KVMinTTLSeconds    = 1        // shortest expiration TTL

	ObjectMaxKeyBytes        = 1024 // an object key, UTF-8
	ObjectMaxCustomMetaBytes = 2048 // names and values of an object's custom metadata together
	ObjectMaxListLimit       = 1000 // entries in one bucket list page (also the default)
	ObjectMaxDeleteKeys      = 1000 // keys in one Bucket.Delete
)

// InvalidError is an error caused by the caller's input (a bad key, a value
// over a limit, a malformed cursor) rather than by the store. The Web API
// throws it as a TypeError; the control plane answers InvalidArgument.
// Its message does not name the API: callers prefix it ("KV.put: ...").
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// Invalid returns an *InvalidError with a formatted message.
func Invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err is (or wraps) an *InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// FormatSize prints a byte count the way limit errors do: "30 MiB",
// "1.5 KiB", "12 bytes".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	suffix := string("KMGTPE"[exp]) + "iB"
	if n%div == 0 {
		return fmt.Sprintf("%d %s", n/div, suffix)
	}
	return fmt.Sprintf("%.1f %s", float64(n)/float64(div), suffix)
}

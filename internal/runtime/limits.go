package runtime

import (
	"fmt"
	"time"
)

// Limits bound one app's invocations. The zero value of a field means the
// default; Validate rejects values outside what a node can honour.
type Limits struct {
	CPU             time.Duration // JavaScript execution time per invocation
	Wall            time.Duration // total time per invocation, waiting included
	Memory          int64         // heap bytes per instance
	Subrequests     int           // outbound fetches per invocation
	RequestBody     int64         // bytes
	ResponseBody    int64         // bytes; 0 means unlimited
	MaxInstances    int           // concurrent instances of one version
	IdleTimeout     time.Duration // an idle instance is closed after this
	AllowPrivateNet bool          // outbound fetch may reach loopback/private addresses
}

// DefaultLimits are the safe defaults every app gets.
var DefaultLimits = Limits{
	CPU:          200 * time.Millisecond,
	Wall:         30 * time.Second,
	Memory:       128 << 20,
	Subrequests:  50,
	RequestBody:  100 << 20,
	MaxInstances: 8,
	IdleTimeout:  60 * time.Second,
}

// WithDefaults fills unset fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.CPU == 0 {
		l.CPU = d.CPU
	}
	if l.Wall == 0 {
		l.Wall = d.Wall
	}
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.Subrequests == 0 {
		l.Subrequests = d.Subrequests
	}
	if l.RequestBody == 0 {
		l.RequestBody = d.RequestBody
	}
	if l.MaxInstances == 0 {
		l.MaxInstances = d.MaxInstances
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	return l
}

// Validate reports the first limit out of range, naming it.
func (l Limits) Validate() error {
	switch {
	case l.CPU < 0 || l.CPU > 10*time.Minute:
		return fmt.Errorf("limits.cpu %v: must be between 1ms and 10m", l.CPU)
	case l.Wall < 0 || l.Wall > time.Hour:
		return fmt.Errorf("limits.timeout %v: must be between 1ms and 1h", l.Wall)
	case l.Memory != 0 && (l.Memory < 4<<20 || l.Memory > 4<<30):
		return fmt.Errorf("limits.memory %d bytes: must be between 4 MiB and 4 GiB", l.Memory)
	case l.Subrequests < 0 || l.Subrequests > 10000:
		return fmt.Errorf("limits.subrequests %d: must be between 0 and 10000", l.Subrequests)
	case l.RequestBody < 0 || l.ResponseBody < 0:
		return fmt.Errorf("limits: body sizes must not be negative")
	case l.MaxInstances < 0 || l.MaxInstances > 1024:
		return fmt.Errorf("limits.instances %d: must be between 1 and 1024", l.MaxInstances)
	}
	return nil
}

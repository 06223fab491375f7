package runtime

import "time"

// Outcome is how an invocation ended.
type Outcome string

const (
	OutcomeOK        Outcome = "ok"
	OutcomeException Outcome = "exception"
	OutcomeCPU       Outcome = "exceeded-cpu"
	OutcomeMemory    Outcome = "exceeded-memory"
	OutcomeStack     Outcome = "exceeded-stack"
	OutcomeTimeout   Outcome = "timeout"
	OutcomeCanceled  Outcome = "canceled"
	OutcomeOverload  Outcome = "overloaded"
	OutcomeTooLarge  Outcome = "request-too-large"
	OutcomeNoHandler Outcome = "no-response"
)

// Usage meters one invocation.
type Usage struct {
	App        string
	Version    string
	RequestID  string
	Handler    string // "fetch", "scheduled", "queue"
	Method     string // HTTP invocations
	Path       string
	Start      time.Time
	Wall       time.Duration
	CPU        time.Duration // time spent executing JavaScript
	MemoryPeak int64         // heap bytes of the instance after the invocation
	BytesIn    int64
	BytesOut   int64
	Status     int
	Outcome    Outcome
	ColdStart  bool
	Error      string // the exception or limit, for logs
}

// Recorder receives every invocation's usage; it must not block.
type Recorder interface {
	Record(u *Usage)
}

package triggers

import (
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/queue"
)

func TestPrimary(t *testing.T) {
	for _, c := range []struct {
		active []app.Split
		want   string
	}{
		{nil, ""},
		{[]app.Split{{Version: "a", Percent: 100}}, "a"},
		{[]app.Split{{Version: "new", Percent: 10}, {Version: "old", Percent: 90}}, "old"},
		{[]app.Split{{Version: "new", Percent: 50}, {Version: "old", Percent: 50}}, "new"},
	} {
		if got := Primary(c.active); got != c.want {
			t.Errorf("Primary(%v) = %q, want %q", c.active, got, c.want)
		}
	}
}

func TestBatchArgsAndDecisions(t *testing.T) {
	b := &queue.Batch{Queue: "tasks", Messages: []*queue.Message{
		{ID: "a", Timestamp: time.UnixMilli(1500), Body: []byte(`{"x":1}`), ContentType: "json", Attempts: 1},
		{ID: "b", Timestamp: time.UnixMilli(2500), Body: []byte{1, 2}, ContentType: "bytes", Attempts: 4},
	}}
	args := batchArgs(b)
	if args[0] != "tasks" || args[1] != `[{"id":"a","ts":1500,"attempts":1,"ct":"json"},{"id":"b","ts":2500,"attempts":4,"ct":"bytes"}]` {
		t.Fatalf("args %v", args)
	}
	bodies := args[2].([]any)
	if bodies[0] != `{"x":1}` || string(bodies[1].([]byte)) != "\x01\x02" {
		t.Fatalf("bodies %v", bodies)
	}
	ds, err := decisions(`{"d":[-2,-1,30]}`, 3)
	if err != nil || ds[0].Retry || !ds[1].Retry || !ds[1].DefaultDelay || !ds[2].Retry || ds[2].Delay != 30*time.Second {
		t.Fatalf("decisions %+v %v", ds, err)
	}
	if FormatDecision(ds[0]) != "ack" || FormatDecision(ds[1]) != "retry" || FormatDecision(ds[2]) != "retry after 30s" {
		t.Fatal("FormatDecision")
	}
	ds, err = decisions(`{"d":[-2],"e":"Error: boom"}`, 1)
	if ds == nil || err == nil || err.Error() != "Error: boom" {
		t.Fatalf("threw: %+v %v", ds, err)
	}
	if _, err := decisions(`{"d":[-2]}`, 2); err == nil {
		t.Fatal("wrong count accepted")
	}
}

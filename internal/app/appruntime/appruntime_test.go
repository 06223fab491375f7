package appruntime

import (
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/runtime"
)

func TestLimits(t *testing.T) {
	got := Limits(app.Limits{CPUMs: 50, TimeoutMs: 2000, MemoryMB: 64, Subrequests: 5, Instances: 2, RequestBodyMB: 1, ResponseBodyMB: 3, IdleTimeoutMs: 500})
	want := runtime.Limits{CPU: 50 * time.Millisecond, Wall: 2 * time.Second, Memory: 64 << 20, Subrequests: 5,
		MaxInstances: 2, RequestBody: 1 << 20, ResponseBody: 3 << 20, IdleTimeout: 500 * time.Millisecond}
	if got != want {
		t.Errorf("Limits = %+v, want %+v", got, want)
	}
	if Limits(app.Limits{}) != (runtime.Limits{}) {
		t.Errorf("zero limits must stay zero (runtime defaults)")
	}
}

func TestSpec(t *testing.T) {
	c := app.Content{Code: "x", Manifest: app.Manifest{Vars: map[string]string{"A": "1"}}}
	spec, err := Spec("hello", "id", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if spec.App != "hello" || spec.ID != "id" || spec.Code != "x" || spec.Bindings == nil || spec.Bindings.Vars["A"] != "1" || spec.SourceMap != nil {
		t.Errorf("Spec = %+v", spec)
	}
	env := &binding.Set{Vars: map[string]string{"B": "2"}, Secrets: map[string]string{"S": "v"}}
	if spec, err := Spec("hello", "id", c, env); err != nil || spec.Bindings != env {
		t.Errorf("Spec with a binding set: %+v, %v", spec.Bindings, err)
	}
	c.SourceMap = []byte("not json")
	if _, err := Spec("hello", "id", c, nil); err == nil {
		t.Errorf("bad source map accepted")
	}
}

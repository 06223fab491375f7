package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bindings"
)

// bindingDeps are what the env bindings of the versions this node loads
// are built on.
func (n *Node) bindingDeps() bindings.Deps {
	return bindings.Deps{Store: n.st, Logger: n.log, Services: n, Secrets: n.cfg.Secrets}
}

// ResolveService picks the version of appName a service binding call goes
// to, as route does for a request: by the app's traffic split, loading the
// version if it is not in memory. release drops the reference that keeps
// the version loaded.
func (n *Node) ResolveService(ctx context.Context, appName string) (bindings.ServiceTarget, func(), error) {
	for range 3 {
		route, ok := n.router.Table().App(appName)
		if !ok {
			return nil, nil, &binding.ServiceError{App: appName, Reason: "no-app", Msg: "no such app on this node"}
		}
		a := route.Value
		s := a.split.Load()
		if s == nil {
			return nil, nil, &binding.ServiceError{App: appName, Reason: "no-version", Msg: "the app has no active version"}
		}
		v := s.pick()
		ref, err := v.acquire(ctx)
		if errors.Is(err, errRemoved) {
			continue // retired between the pick and the load: pick again
		}
		if err != nil {
			return nil, nil, &binding.ServiceError{App: appName, Reason: "load-failed",
				Msg: fmt.Sprintf("version %s could not be loaded", app.ShortID(v.id)), Err: err}
		}
		return ref.pool, func() {
			v.touch()
			ref.release()
		}, nil
	}
	return nil, nil, &binding.ServiceError{App: appName, Reason: "busy", Msg: "the app is changing; try again"}
}

var _ bindings.ServiceResolver = (*Node)(nil)

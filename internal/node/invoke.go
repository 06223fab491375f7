package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/kumo-dev/kumo/internal/app"
)

// Invoke runs handler, an entry of the runtime's dispatch layer such as
// "queue" or "scheduled", on version of appName with args, loading the
// version if it is not in memory, and returns the entry's fulfilled value
// (see runtime.Pool.Invoke). The version must be active: triggers run only
// what the app serves.
func (n *Node) Invoke(ctx context.Context, appName, version, handler string, args ...any) (string, error) {
	for range 3 {
		n.mu.Lock()
		var v *versionState
		if a := n.apps[appName]; a != nil {
			v = a.versions[version]
		}
		n.mu.Unlock()
		if v == nil {
			return "", fmt.Errorf("running %s of %s: version %s is not active on this node", handler, appName, app.ShortID(version))
		}
		ref, err := v.acquire(ctx)
		if errors.Is(err, errRemoved) {
			continue
		}
		if err != nil {
			return "", err
		}
		out, _, err := ref.pool.Invoke(ctx, handler, args...)
		v.touch()
		ref.release()
		return out, err
	}
	return "", fmt.Errorf("running %s of %s: version %s was just retired", handler, appName, app.ShortID(version))
}

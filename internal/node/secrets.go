package node

import (
	"context"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/secrets"
)

// watchSecrets follows the apps' secrets in the store: when one changes
// (put or deleted), the app's loaded versions are dropped so the next
// request loads them with the new values. Requests running finish on the
// old instances. A version whose load failed (a secret was missing) is
// retried on the next request instead of after loadRetry.
func (n *Node) watchSecrets(ctx context.Context) {
	defer n.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		ch, err := n.st.Watch(ctx, secrets.WatchPattern)
		if err == nil {
			synced := false
			for c := range ch {
				switch {
				case c.Synced:
					synced = true
					backoff = 100 * time.Millisecond
				case synced:
					if name, ok := secrets.AppOfKey(c.Key); ok {
						n.reloadApp(name)
					}
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("secrets watch ended; watching again", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// reloadApp drops the loaded versions of appName; each loads again on
// its next request.
func (n *Node) reloadApp(appName string) {
	n.mu.Lock()
	a := n.apps[appName]
	var vs []*versionState
	if a != nil {
		for _, v := range a.versions {
			vs = append(vs, v)
		}
	}
	n.mu.Unlock()
	for _, v := range vs {
		if v.unload() {
			n.log.Info("version unloaded: a secret changed", "app", appName, "version", app.ShortID(v.id))
		}
	}
}

// unload drops the version's pool (closed once the requests on it end)
// and forgets a failed load, so the next request loads it afresh. It
// reports whether a pool was loaded.
func (v *versionState) unload() bool {
	v.mu.Lock()
	ref := v.cur.Swap(nil)
	v.failed = nil
	if c := v.loading; c != nil {
		// A load under way may have read the old values: drop its result
		// too when it lands (it ends within LoadTimeout).
		go func() {
			<-c.done
			if c.ref != nil && v.cur.CompareAndSwap(c.ref, nil) {
				c.ref.release()
			}
		}()
	}
	v.mu.Unlock()
	if ref != nil {
		ref.release()
	}
	return ref != nil
}

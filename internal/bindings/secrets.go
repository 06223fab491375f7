package bindings

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// SecretSource gives the values of an app's secrets: the store's,
// decrypted (*secrets.Store), or a dev folder's .dev.vars. A missing
// secret is an error naming it and how to set it; errors never contain a
// value.
type SecretSource interface {
	Secrets(ctx context.Context, app string, names []string) (map[string]string, error)
}

// errNoSecrets: a version declares secrets where no source is configured.
var errNoSecrets = errors.New("no secret store is configured")

// secretValues returns the declared secrets' values, checking that the
// source returned every one.
func secretValues(ctx context.Context, d Deps, appName string, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if d.Secrets == nil {
		return nil, fmt.Errorf("binding secrets of %s: %w", appName, errNoSecrets)
	}
	vals, err := d.Secrets.Secrets(ctx, appName, names)
	if err != nil {
		return nil, fmt.Errorf("binding secrets of %s: %w", appName, err)
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := vals[n]
		if !ok {
			return nil, fmt.Errorf("binding secrets of %s: secret %s has no value", appName, n)
		}
		out[n] = v
	}
	return out, nil
}

// cloneVars copies the manifest's vars so a set never shares the map with
// the decoded content.
func cloneVars(v map[string]string) map[string]string {
	if len(v) == 0 {
		return nil
	}
	return maps.Clone(v)
}

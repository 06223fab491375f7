package bindings

import (
	"context"
	"fmt"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/queue"
)

// queues builds the queue producers of m: env[p.Binding] sends to the
// app's queue p.Queue. Each queue's stream is provisioned now (so a deploy
// leaves its queues ready) and again on first send if it went missing.
func queues(ctx context.Context, d Deps, appName string, m app.Manifest) (map[string]binding.Queue, error) {
	if len(m.Queues.Producers) == 0 {
		return nil, nil
	}
	b := queue.NewBroker(d.Store, d.Logger)
	out := make(map[string]binding.Queue, len(m.Queues.Producers))
	for _, p := range m.Queues.Producers {
		if _, err := b.Ensure(ctx, appName, p.Queue); err != nil {
			return nil, fmt.Errorf("binding queue %s to env.%s: %w", p.Queue, p.Binding, err)
		}
		out[p.Binding] = b.Producer(appName, p.Queue)
	}
	return out, nil
}

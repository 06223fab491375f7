package control

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bindings"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// The kumo.v1.KV service: operators read and write an app's KV namespaces
// by the binding names of its active version, with the same tokens as
// deploys (admin, or scoped to the app). It is its own type so that its
// method names (Get, Put, ...) stay apart from kumo.v1.Control's.

// kvService implements kumo.v1.KV over a Service.
type kvService struct{ s *Service }

// KVHandler returns the path and handler of kumo.v1.KV, which
// authenticates like the control service.
func KVHandler(svc *Service) (string, http.Handler) {
	return kumov1connect.NewKVHandler(&kvService{s: svc},
		connect.WithInterceptors(&authInterceptor{svc: svc}),
		connect.WithReadMaxBytes(binding.KVMaxValueBytes+1<<20),
	)
}

// namespace resolves a target to its KV namespace: the binding of that
// name in the app's active version (the version with the most traffic
// first, during a split).
func (k *kvService) namespace(ctx context.Context, t *kumov1.KVTarget) (binding.KV, string, error) {
	name, bind := t.GetApp(), t.GetBinding()
	if err := checkApp(ctx, name); err != nil {
		return nil, "", err
	}
	if bind == "" {
		return nil, "", fail(reasonBadRequest, "binding: give the name of a KV binding of the app (e.g. USERS)")
	}
	rec, _, err := k.s.readApp(ctx, name)
	if err != nil {
		return nil, "", err
	}
	if rec == nil || rec.Deleted || len(rec.Active) == 0 {
		return nil, "", fail(reasonAppNotFound, name)
	}
	active := slices.Clone(rec.Active)
	slices.SortStableFunc(active, func(a, b app.Split) int { return b.Percent - a.Percent })
	var seen []string
	for _, sp := range active {
		data, err := k.s.st.GetBlob(ctx, sp.Version)
		if err != nil {
			return nil, "", internal("reading version "+app.ShortID(sp.Version)+" of "+name, err)
		}
		c, err := app.DecodeContent(data)
		if err != nil {
			return nil, "", internal("reading version "+app.ShortID(sp.Version)+" of "+name, err)
		}
		for _, b := range c.Manifest.KV {
			if b.Binding != bind {
				if !slices.Contains(seen, b.Binding) {
					seen = append(seen, b.Binding)
				}
				continue
			}
			ns := b.Namespace
			if ns == "" {
				ns = strings.ToLower(b.Binding)
			}
			kv, err := bindings.OpenKV(k.s.st, name, ns)
			if err != nil {
				return nil, "", internal("opening KV namespace "+ns, err)
			}
			return kv, ns, nil
		}
	}
	have := "it has none"
	if len(seen) > 0 {
		have = "it has " + strings.Join(seen, ", ")
	}
	return nil, "", fail(reasonBindingNotFound, name, bind, have)
}

// kvError maps a KV failure: bad input is the caller's, the rest ours.
func kvError(what string, err error) error {
	if binding.IsInvalid(err) {
		return fail(reasonBadRequest, what+": "+err.Error())
	}
	return internal(what, err)
}

// Get reads a key.
func (k *kvService) Get(ctx context.Context, req *connect.Request[kumov1.KVGetRequest]) (*connect.Response[kumov1.KVGetResponse], error) {
	kv, ns, err := k.namespace(ctx, req.Msg.GetTarget())
	if err != nil {
		return nil, err
	}
	v, err := kv.Get(ctx, req.Msg.GetKey())
	if err != nil {
		return nil, kvError("reading key", err)
	}
	out := &kumov1.KVGetResponse{Namespace: ns}
	if v != nil {
		out.Found, out.Value, out.Metadata, out.Expiration = true, v.Value, string(v.Metadata), v.Expiration
	}
	return connect.NewResponse(out), nil
}

// Put writes a key.
func (k *kvService) Put(ctx context.Context, req *connect.Request[kumov1.KVPutRequest]) (*connect.Response[kumov1.KVPutResponse], error) {
	m := req.Msg
	kv, ns, err := k.namespace(ctx, m.GetTarget())
	if err != nil {
		return nil, err
	}
	if m.GetExpirationTtl() < 0 || m.GetExpiration() < 0 {
		return nil, fail(reasonBadRequest, "expiration_ttl and expiration must not be negative")
	}
	opts := binding.KVPutOptions{TTL: time.Duration(m.GetExpirationTtl()) * time.Second}
	if m.GetExpiration() > 0 {
		opts.Expiration = time.Unix(m.GetExpiration(), 0)
	}
	if m.GetMetadata() != "" {
		opts.Metadata = []byte(m.GetMetadata())
	}
	if err := kv.Put(ctx, m.GetKey(), m.GetValue(), opts); err != nil {
		return nil, kvError("writing key", err)
	}
	k.s.log.Info("kv key put", "app", m.GetTarget().GetApp(), "namespace", ns, "bytes", len(m.GetValue()), "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.KVPutResponse{Namespace: ns}), nil
}

// Delete removes a key.
func (k *kvService) Delete(ctx context.Context, req *connect.Request[kumov1.KVDeleteRequest]) (*connect.Response[kumov1.KVDeleteResponse], error) {
	kv, ns, err := k.namespace(ctx, req.Msg.GetTarget())
	if err != nil {
		return nil, err
	}
	if err := kv.Delete(ctx, req.Msg.GetKey()); err != nil {
		return nil, kvError("deleting key", err)
	}
	k.s.log.Info("kv key deleted", "app", req.Msg.GetTarget().GetApp(), "namespace", ns, "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.KVDeleteResponse{Namespace: ns}), nil
}

// List lists keys a page at a time.
func (k *kvService) List(ctx context.Context, req *connect.Request[kumov1.KVListRequest]) (*connect.Response[kumov1.KVListResponse], error) {
	m := req.Msg
	kv, ns, err := k.namespace(ctx, m.GetTarget())
	if err != nil {
		return nil, err
	}
	l, err := kv.List(ctx, binding.KVListOptions{Prefix: m.GetPrefix(), Cursor: m.GetCursor(), Limit: int(m.GetLimit())})
	if err != nil {
		return nil, kvError("listing keys", err)
	}
	out := &kumov1.KVListResponse{ListComplete: l.Complete, Cursor: l.Cursor, Namespace: ns}
	for _, key := range l.Keys {
		out.Keys = append(out.Keys, &kumov1.KVKey{Name: key.Name, Expiration: key.Expiration, Metadata: string(key.Metadata)})
	}
	return connect.NewResponse(out), nil
}

var _ kumov1connect.KVHandler = (*kvService)(nil)

package control

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kumo-dev/kumo/internal/secrets"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// The kumo.v1.Secrets service: apps' secrets, put, listed (names and times
// only) and deleted with the same tokens as deploys. Values never appear in
// a response, an error or a log line; nodes reload an app's versions when
// one of its secrets changes.

// PutSecret stores a secret of an app, which need not exist yet.
func (s *Service) PutSecret(ctx context.Context, req *connect.Request[kumov1.PutSecretRequest]) (*connect.Response[kumov1.PutSecretResponse], error) {
	m := req.Msg
	if err := s.secretCall(ctx, m.GetApp(), m.GetName()); err != nil {
		return nil, err
	}
	if err := secrets.CheckValue(m.GetValue()); err != nil {
		return nil, fail(reasonBadRequest, err.Error())
	}
	if rec, _, err := s.readApp(ctx, m.GetApp()); err != nil {
		return nil, err
	} else if rec != nil && rec.Deleted {
		return nil, fail(reasonAppDeleting, m.GetApp(), m.GetApp())
	}
	created, updated, err := s.cfg.Secrets.Put(ctx, m.GetApp(), m.GetName(), m.GetValue())
	if err != nil {
		return nil, internal("storing secret "+m.GetName(), err)
	}
	s.log.Info("secret put", "app", m.GetApp(), "secret", m.GetName(), "created", created, "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.PutSecretResponse{Created: created, Updated: timestamppb.New(updated)}), nil
}

// DeleteSecret removes a secret of an app.
func (s *Service) DeleteSecret(ctx context.Context, req *connect.Request[kumov1.DeleteSecretRequest]) (*connect.Response[kumov1.DeleteSecretResponse], error) {
	m := req.Msg
	if err := s.secretCall(ctx, m.GetApp(), m.GetName()); err != nil {
		return nil, err
	}
	err := s.cfg.Secrets.Delete(ctx, m.GetApp(), m.GetName())
	if errors.Is(err, secrets.ErrNotFound) {
		return nil, fail(reasonSecretNotFound, m.GetApp(), m.GetName(), m.GetApp())
	}
	if err != nil {
		return nil, internal("deleting secret "+m.GetName(), err)
	}
	s.log.Info("secret deleted", "app", m.GetApp(), "secret", m.GetName(), "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.DeleteSecretResponse{}), nil
}

// ListSecrets lists an app's secrets without their values.
func (s *Service) ListSecrets(ctx context.Context, req *connect.Request[kumov1.ListSecretsRequest]) (*connect.Response[kumov1.ListSecretsResponse], error) {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return nil, err
	}
	if s.cfg.Secrets == nil {
		return nil, fail(reasonNoSecrets)
	}
	list, err := s.cfg.Secrets.List(ctx, name)
	if err != nil {
		return nil, internal("listing secrets", err)
	}
	out := &kumov1.ListSecretsResponse{Secrets: make([]*kumov1.SecretInfo, len(list))}
	for i, sec := range list {
		out.Secrets[i] = &kumov1.SecretInfo{Name: sec.Name, Updated: timestamppb.New(sec.Updated)}
	}
	return connect.NewResponse(out), nil
}

// secretCall checks the caller's scope and the names of a call on one
// secret.
func (s *Service) secretCall(ctx context.Context, appName, name string) error {
	if err := checkApp(ctx, appName); err != nil {
		return err
	}
	if s.cfg.Secrets == nil {
		return fail(reasonNoSecrets)
	}
	if err := secrets.CheckName(appName, name); err != nil {
		return fail(reasonBadRequest, err.Error())
	}
	return nil
}

var _ kumov1connect.SecretsHandler = (*Service)(nil)

package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/queue"
	"github.com/kumo-dev/kumo/internal/triggers"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// The kumo.v1.Queues service: queue counters, dead letters and manual
// triggers. It reads queues through package queue and fires handlers
// through Config.Triggers (this node's trigger runner).

// QueuesHandler returns the path and handler of kumo.v1.Queues, which
// authenticates like the control service.
func QueuesHandler(svc *Service) (string, http.Handler) {
	return kumov1connect.NewQueuesHandler(svc,
		connect.WithInterceptors(&authInterceptor{svc: svc}),
		connect.WithReadMaxBytes(queue.MaxMessageBytes+1<<20),
	)
}

// queueTarget checks a request's app and queue and reads what the app's
// active version says about the queue: its consumer (nil when it does not
// consume it).
func (s *Service) queueTarget(ctx context.Context, appName, q string) (string, *app.QueueConsumer, error) {
	if err := checkApp(ctx, appName); err != nil {
		return "", nil, err
	}
	if err := queue.ValidName(q); err != nil {
		return "", nil, fail(reasonBadRequest, err.Error())
	}
	id, mf, err := triggers.ActiveManifest(ctx, s.st, appName)
	if errors.Is(err, triggers.ErrNoVersion) {
		return "", nil, fail(reasonAppNotFound, appName)
	}
	if err != nil {
		return "", nil, internal("reading the active version", err)
	}
	known := false
	var consumer *app.QueueConsumer
	for _, p := range mf.Queues.Producers {
		known = known || p.Queue == q
	}
	for i, c := range mf.Queues.Consumers {
		if c.Queue == q {
			known, consumer = true, &mf.Queues.Consumers[i]
		}
		known = known || c.DeadLetter == q
	}
	if !known {
		return "", nil, fail(reasonBadRequest, fmt.Sprintf("app %q (version %s) declares no queue %q", appName, app.ShortID(id), q))
	}
	return id, consumer, nil
}

func (s *Service) broker() *queue.Broker {
	if s.cfg.Triggers != nil {
		return s.cfg.Triggers.Broker()
	}
	return queue.NewBroker(s.st, s.log)
}

// QueueStats reads a queue's counters.
func (s *Service) QueueStats(ctx context.Context, req *connect.Request[kumov1.QueueStatsRequest]) (*connect.Response[kumov1.QueueStatsResponse], error) {
	m := req.Msg
	_, consumer, err := s.queueTarget(ctx, m.GetApp(), m.GetQueue())
	if err != nil {
		return nil, err
	}
	dlq := ""
	if consumer != nil {
		dlq = consumer.DeadLetter
	}
	st, err := s.broker().Stats(ctx, m.GetApp(), m.GetQueue(), dlq)
	if err != nil {
		return nil, internal("reading queue stats", err)
	}
	return connect.NewResponse(&kumov1.QueueStatsResponse{
		Ready: st.Ready, Delayed: st.Delayed, InFlight: st.InFlight, Redelivering: st.Redelivering,
		Delivered: st.Delivered, Dead: st.Dead, DeadLetter: dlq, Consumed: consumer != nil,
	}), nil
}

// ListDeadLetters lists a queue's dead-lettered messages.
func (s *Service) ListDeadLetters(ctx context.Context, req *connect.Request[kumov1.ListDeadLettersRequest]) (*connect.Response[kumov1.ListDeadLettersResponse], error) {
	m := req.Msg
	_, consumer, err := s.queueTarget(ctx, m.GetApp(), m.GetQueue())
	if err != nil {
		return nil, err
	}
	if m.GetLimit() < 0 || m.GetLimit() > 10000 {
		return nil, fail(reasonBadRequest, "limit must be between 0 and 10000")
	}
	dlq := ""
	if consumer != nil {
		dlq = consumer.DeadLetter
	}
	dead, err := s.broker().Dead(ctx, m.GetApp(), m.GetQueue(), dlq, int(m.GetLimit()))
	if err != nil {
		return nil, internal("listing dead letters", err)
	}
	out := &kumov1.ListDeadLettersResponse{DeadLetter: dlq}
	for _, d := range dead {
		out.Messages = append(out.Messages, &kumov1.DeadLetter{
			Id: d.ID, Sent: timestamppb.New(d.Sent), DeadAt: timestamppb.New(d.DeadAt), Attempts: int32(d.Attempts),
			Error: d.Error, ContentType: d.ContentType, Body: d.Body, DeadLetter: d.DeadLetter,
		})
	}
	return connect.NewResponse(out), nil
}

// RequeueDeadLetters sends a queue's dead-lettered messages back to it.
func (s *Service) RequeueDeadLetters(ctx context.Context, req *connect.Request[kumov1.RequeueDeadLettersRequest]) (*connect.Response[kumov1.RequeueDeadLettersResponse], error) {
	m := req.Msg
	_, consumer, err := s.queueTarget(ctx, m.GetApp(), m.GetQueue())
	if err != nil {
		return nil, err
	}
	if m.GetLimit() < 0 {
		return nil, fail(reasonBadRequest, "limit must not be negative")
	}
	dlq := ""
	if consumer != nil {
		dlq = consumer.DeadLetter
	}
	n, err := s.broker().Requeue(ctx, m.GetApp(), m.GetQueue(), dlq, int(m.GetLimit()))
	if err != nil {
		return nil, internal(fmt.Sprintf("requeueing dead letters (%d moved)", n), err)
	}
	s.log.Info("dead letters requeued", "app", m.GetApp(), "queue", m.GetQueue(), "count", n, "token", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.RequeueDeadLettersResponse{Requeued: int32(n)}), nil
}

// TriggerCron runs an app's scheduled handler now.
func (s *Service) TriggerCron(ctx context.Context, req *connect.Request[kumov1.TriggerCronRequest]) (*connect.Response[kumov1.TriggerCronResponse], error) {
	m := req.Msg
	if err := checkApp(ctx, m.GetApp()); err != nil {
		return nil, err
	}
	if s.cfg.Triggers == nil {
		return nil, internal("triggering cron", errors.New("this server runs no triggers"))
	}
	id, runs, err := s.cfg.Triggers.RunCron(ctx, m.GetApp(), m.GetCron())
	if errors.Is(err, triggers.ErrNoVersion) {
		return nil, fail(reasonAppNotFound, m.GetApp())
	}
	if err != nil {
		return nil, fail(reasonBadRequest, err.Error())
	}
	out := &kumov1.TriggerCronResponse{Version: id}
	for _, r := range runs {
		cr := &kumov1.CronRun{Cron: r.Cron}
		if r.Error != nil {
			cr.Error = r.Error.Error()
		}
		out.Runs = append(out.Runs, cr)
	}
	return connect.NewResponse(out), nil
}

// TriggerQueue runs an app's queue handler now on one message, or sends
// the message to the queue.
func (s *Service) TriggerQueue(ctx context.Context, req *connect.Request[kumov1.TriggerQueueRequest]) (*connect.Response[kumov1.TriggerQueueResponse], error) {
	m := req.Msg
	id, consumer, err := s.queueTarget(ctx, m.GetApp(), m.GetQueue())
	if err != nil {
		return nil, err
	}
	ct := m.GetContentType()
	if ct == "" {
		ct = "json"
	}
	if !slices.Contains(queue.ContentTypes, ct) {
		return nil, fail(reasonBadRequest, fmt.Sprintf("content type %q: must be json, text or bytes", ct))
	}
	if m.GetSend() {
		err := s.broker().Send(ctx, m.GetApp(), m.GetQueue(), []binding.QueueMessage{{Body: m.GetBody(), ContentType: ct}})
		if err != nil {
			return nil, fail(reasonBadRequest, err.Error())
		}
		return connect.NewResponse(&kumov1.TriggerQueueResponse{Version: id}), nil
	}
	if consumer == nil {
		return nil, fail(reasonBadRequest, fmt.Sprintf("app %q does not consume queue %q (add it to queues.consumers, or pass --send)", m.GetApp(), m.GetQueue()))
	}
	if s.cfg.Triggers == nil {
		return nil, internal("triggering queue", errors.New("this server runs no triggers"))
	}
	run, err := s.cfg.Triggers.RunQueue(ctx, m.GetApp(), m.GetQueue(), m.GetBody(), ct)
	if errors.Is(err, triggers.ErrNoVersion) {
		return nil, fail(reasonAppNotFound, m.GetApp())
	}
	if err != nil {
		return nil, fail(reasonBadRequest, err.Error())
	}
	out := &kumov1.TriggerQueueResponse{Version: run.Version, MessageId: run.ID, Decision: triggers.FormatDecision(run.Decision)}
	if run.Error != nil {
		out.Error = run.Error.Error()
	}
	return connect.NewResponse(out), nil
}

var _ kumov1connect.QueuesHandler = (*Service)(nil)

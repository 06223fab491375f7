package control

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/queue"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

// Log line counts.
const (
	defaultLogLines = 100
	maxLogLines     = 10000
)

// ListApps lists apps with their active versions, hosts and request and
// error totals. An app-scoped token sees only its app.
func (s *Service) ListApps(ctx context.Context, req *connect.Request[kumov1.ListAppsRequest]) (*connect.Response[kumov1.ListAppsResponse], error) {
	vals, err := scan(ctx, s.st, app.AppsPrefix+".*")
	if err != nil {
		return nil, internal("listing apps", err)
	}
	usage, err := scan(ctx, s.st, "usage.>")
	if err != nil {
		return nil, internal("reading usage", err)
	}
	totals := make(map[string]*app.UsageTotals)
	for key, v := range usage {
		parts := strings.Split(key, ".") // usage.<app>.<version>
		if len(parts) != 3 {
			continue
		}
		var u app.UsageTotals
		if json.Unmarshal(v, &u) != nil {
			continue
		}
		t := totals[parts[1]]
		if t == nil {
			t = &app.UsageTotals{}
			totals[parts[1]] = t
		}
		t.Merge(u)
	}
	scope := caller(ctx).rec.App
	out := &kumov1.ListAppsResponse{}
	for key, v := range vals {
		var rec app.AppRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, internal("reading "+key, err)
		}
		if rec.Deleted || scope != "" && rec.Name != scope {
			continue
		}
		info := &kumov1.AppInfo{
			Name: rec.Name, Active: splitsToProto(rec.Active), Hosts: rec.Hosts,
			Created: timestamppb.New(rec.Created), Updated: timestamppb.New(rec.Updated),
		}
		if t := totals[rec.Name]; t != nil {
			info.Requests, info.Errors = t.Requests, t.Errors
		}
		out.Apps = append(out.Apps, info)
	}
	sort.Slice(out.Apps, func(i, j int) bool { return out.Apps[i].Name < out.Apps[j].Name })
	return connect.NewResponse(out), nil
}

// ListVersions lists an app's versions, newest first, with their share of
// traffic.
func (s *Service) ListVersions(ctx context.Context, req *connect.Request[kumov1.ListVersionsRequest]) (*connect.Response[kumov1.ListVersionsResponse], error) {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return nil, err
	}
	rec, _, err := s.readApp(ctx, name)
	if err != nil {
		return nil, err
	}
	versions, err := s.loadVersions(ctx, name)
	if err != nil {
		return nil, internal("listing versions", err)
	}
	if rec == nil && len(versions) == 0 {
		return nil, fail(reasonAppNotFound, name)
	}
	out := &kumov1.ListVersionsResponse{}
	for _, v := range versions {
		info := &kumov1.VersionInfo{
			Id: v.ID, Created: timestamppb.New(v.Created), Message: v.Message,
			Author: v.Author, Size: v.Size, Entry: v.Entry,
		}
		if rec != nil {
			for _, sp := range rec.Active {
				if sp.Version == v.ID {
					info.Active = int32(sp.Percent)
				}
			}
		}
		out.Versions = append(out.Versions, info)
	}
	return connect.NewResponse(out), nil
}

// Rollback makes a stored version (named by id or unique id prefix) the
// app's only active version, in one atomic update.
func (s *Service) Rollback(ctx context.Context, req *connect.Request[kumov1.RollbackRequest]) (*connect.Response[kumov1.RollbackResponse], error) {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return nil, err
	}
	id, err := s.resolveVersion(ctx, name, req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	_, after, err := s.updateApp(ctx, name, false, func(r *app.AppRecord) error {
		if r.Deleted {
			return fail(reasonAppDeleting, name, name)
		}
		r.Active = []app.Split{{Version: id, Percent: 100}}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("rolled back", "app", name, "version", app.ShortID(id), "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.RollbackResponse{Active: splitsToProto(after.Active)}), nil
}

// resolveVersion finds the version of name whose id is q or starts with q.
func (s *Service) resolveVersion(ctx context.Context, name, q string) (string, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return "", fail(reasonBadRequest, "version: give a version id or a prefix of one")
	}
	if !isHex(q) {
		return "", fail(reasonVersionNotFound, name, q, name)
	}
	keys, err := s.st.Keys(ctx, app.VersionsPrefix(name))
	if err != nil {
		return "", internal("listing versions", err)
	}
	var matches []string
	for _, k := range keys {
		id := k[strings.LastIndexByte(k, '.')+1:]
		if strings.HasPrefix(id, q) {
			matches = append(matches, id)
		}
	}
	switch len(matches) {
	case 0:
		return "", fail(reasonVersionNotFound, name, q, name)
	case 1:
		return matches[0], nil
	default:
		short := make([]string, len(matches))
		for i, m := range matches {
			short[i] = app.ShortID(m)
		}
		return "", fail(reasonAmbiguous, "version", q, strings.Join(short, ", "))
	}
}

// Promote ends a traffic split by giving the version being rolled out all
// traffic.
func (s *Service) Promote(ctx context.Context, req *connect.Request[kumov1.PromoteRequest]) (*connect.Response[kumov1.PromoteResponse], error) {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return nil, err
	}
	_, after, err := s.updateApp(ctx, name, false, func(r *app.AppRecord) error {
		if r.Deleted {
			return fail(reasonAppDeleting, name, name)
		}
		if len(r.Active) != 2 {
			return fail(reasonNoSplit, name)
		}
		r.Active = []app.Split{{Version: r.Active[0].Version, Percent: 100}}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("promoted", "app", name, "version", app.ShortID(after.Active[0].Version), "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.PromoteResponse{Active: splitsToProto(after.Active)}), nil
}

// DeleteApp removes an app. The record is first marked deleted (nodes stop
// serving it, deploys are refused), then its host claims, versions, usage
// and unshared blobs are deleted, and the record last, so an interrupted
// removal is finished by running it again. Admin only.
func (s *Service) DeleteApp(ctx context.Context, req *connect.Request[kumov1.DeleteAppRequest]) (*connect.Response[kumov1.DeleteAppResponse], error) {
	name := req.Msg.GetApp()
	if err := adminOnly(ctx, "removing apps"); err != nil {
		return nil, err
	}
	if err := app.ValidName(name); err != nil {
		return nil, fail(reasonBadName, err)
	}
	_, _, err := s.updateApp(ctx, name, false, func(r *app.AppRecord) error {
		r.Deleted = true
		return nil
	})
	var ce *connect.Error
	if errors.As(err, &ce) && Reason(err) == errorTable[reasonAppNotFound].id {
		// No record: there may still be leftovers of an interrupted removal.
		if keys, kerr := s.st.Keys(ctx, app.VersionsPrefix(name)); kerr != nil || len(keys) == 0 {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	// The rest must finish even if the client goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	out := &kumov1.DeleteAppResponse{}

	claims, err := scan(ctx, s.st, app.HostsPrefix+".*")
	if err != nil {
		return nil, internal("listing host claims", err)
	}
	for key, v := range claims {
		var hr app.HostRecord
		if json.Unmarshal(v, &hr) != nil || hr.App != name {
			continue
		}
		if err := s.st.Delete(ctx, key); err != nil {
			return nil, internal("releasing host claim", err)
		}
		host, _ := app.HostFromKey(key)
		out.HostsReleased = append(out.HostsReleased, host)
	}
	sort.Strings(out.HostsReleased)

	versions, err := s.st.Keys(ctx, app.VersionsPrefix(name))
	if err != nil {
		return nil, internal("listing versions", err)
	}
	var ids []string
	for _, k := range versions {
		if err := s.st.Delete(ctx, k); err != nil {
			return nil, internal("deleting version", err)
		}
		ids = append(ids, k[strings.LastIndexByte(k, '.')+1:])
	}
	out.VersionsDeleted = int32(len(ids))
	usage, err := s.st.Keys(ctx, app.UsagePrefix(name))
	if err != nil {
		return nil, internal("listing usage", err)
	}
	for _, k := range usage {
		if err := s.st.Delete(ctx, k); err != nil {
			return nil, internal("deleting usage", err)
		}
	}
	if s.cfg.Secrets != nil {
		if err := s.cfg.Secrets.DeleteApp(ctx, name); err != nil {
			return nil, internal("deleting secrets", err)
		}
	}
	// The record says "deleted" already, so no node consumes the queues.
	if _, err := queue.NewBroker(s.st, s.log).DeleteApp(ctx, name); err != nil {
		return nil, internal("deleting queues", err)
	}
	if err := s.st.Delete(ctx, app.AppKey(name)); err != nil {
		return nil, internal("deleting app record", err)
	}
	for _, id := range ids {
		s.deleteBlobIfUnused(ctx, id)
	}
	s.log.Info("app removed", "app", name, "versions", len(ids), "hosts", len(out.HostsReleased), "by", caller(ctx).rec.Name)
	return connect.NewResponse(out), nil
}

// GetUsage returns an app's usage totals per version and overall.
func (s *Service) GetUsage(ctx context.Context, req *connect.Request[kumov1.GetUsageRequest]) (*connect.Response[kumov1.GetUsageResponse], error) {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return nil, err
	}
	vals, err := scan(ctx, s.st, app.UsagePrefix(name)+".*")
	if err != nil {
		return nil, internal("reading usage", err)
	}
	if len(vals) == 0 {
		if rec, _, err := s.readApp(ctx, name); err != nil {
			return nil, err
		} else if rec == nil {
			return nil, fail(reasonAppNotFound, name)
		}
	}
	out := &kumov1.GetUsageResponse{}
	var total app.UsageTotals
	for key, v := range vals {
		var u app.UsageTotals
		if err := json.Unmarshal(v, &u); err != nil {
			return nil, internal("reading "+key, err)
		}
		total.Merge(u)
		out.Versions = append(out.Versions, usageToProto(key[strings.LastIndexByte(key, '.')+1:], u))
	}
	sort.Slice(out.Versions, func(i, j int) bool { return out.Versions[i].Version < out.Versions[j].Version })
	out.Total = usageToProto("", total)
	return connect.NewResponse(out), nil
}

func usageToProto(version string, u app.UsageTotals) *kumov1.Usage {
	return &kumov1.Usage{
		Version: version, Requests: u.Requests, Errors: u.Errors, CpuUs: u.CPUUs, WallUs: u.WallUs,
		MemByteMs: u.MemByteMs, BytesIn: u.BytesIn, BytesOut: u.BytesOut, ColdStarts: u.ColdStarts,
	}
}

// Logs returns the last lines of an app's log, oldest first.
func (s *Service) Logs(ctx context.Context, req *connect.Request[kumov1.LogsRequest]) (*connect.Response[kumov1.LogsResponse], error) {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return nil, err
	}
	n := int(req.Msg.GetLast())
	if n <= 0 {
		n = defaultLogLines
	}
	lines, err := s.st.ReadLogs(ctx, name, min(n, maxLogLines))
	if err != nil {
		return nil, internal("reading logs", err)
	}
	out := &kumov1.LogsResponse{Lines: make([]string, len(lines))}
	for i, l := range lines {
		out.Lines[i] = string(l)
	}
	return connect.NewResponse(out), nil
}

// FollowLogs streams the last lines of an app's log, then each new line,
// until the client goes away.
func (s *Service) FollowLogs(ctx context.Context, req *connect.Request[kumov1.FollowLogsRequest], stream *connect.ServerStream[kumov1.FollowLogsResponse]) error {
	name := req.Msg.GetApp()
	if err := checkApp(ctx, name); err != nil {
		return err
	}
	n := min(max(int(req.Msg.GetLast()), 0), maxLogLines)
	lines, stop, err := s.st.FollowLogs(ctx, name, n)
	if err != nil {
		return internal("following logs", err)
	}
	defer stop()
	// Headers go out now, so a client sees the stream open even when the
	// log is quiet.
	if err := stream.Send(nil); err != nil {
		return err
	}
	for line := range lines {
		if err := stream.Send(&kumov1.FollowLogsResponse{Line: string(line)}); err != nil {
			return err
		}
	}
	return nil
}

// checkApp checks an app name from a request and the caller's scope.
func checkApp(ctx context.Context, name string) error {
	if err := allow(ctx, name); err != nil {
		return err
	}
	if err := app.ValidName(name); err != nil {
		return fail(reasonBadName, err)
	}
	return nil
}

package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/app/appruntime"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/manifest"
	"github.com/kumo-dev/kumo/internal/store"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

// maxUpdateAttempts bounds the read-modify-write retries of one change to
// an app record. Each attempt loses only to another change that succeeded,
// so running out means sustained contention, reported as CodeAborted.
const maxUpdateAttempts = 100

// Deploy validates a version completely, then stores and activates it:
//
//  1. the request: app name and scope, hosts, percent, limits, vars;
//  2. the code: an archive is unpacked (refusing unsafe entries) and
//     bundled, a prebuilt bundle taken as is; both are compiled and
//     instantiated, which checks syntax, top-level errors and handlers;
//  3. host claims (Create of hosts.<host>, refused when another app owns one);
//
// and only then stores the content blob and the version record, and
// activates the version with one atomic update of the app record. Content
// already stored for this app is not stored again (unchanged), but is
// activated if it is not active.
func (s *Service) Deploy(ctx context.Context, req *connect.Request[kumov1.DeployRequest]) (*connect.Response[kumov1.DeployResponse], error) {
	m := req.Msg
	reqMf, err := requestManifest(m.GetManifest())
	if err != nil {
		return nil, err
	}
	name := m.GetApp()
	if name == "" && reqMf != nil {
		name = reqMf.Name
	}
	if err := allow(ctx, name); err != nil {
		return nil, err
	}
	if err := app.ValidName(name); err != nil {
		return nil, fail(reasonBadName, err)
	}
	hosts, err := normalizeHosts(m.GetHosts())
	if err != nil {
		return nil, err
	}
	percent := int(m.GetPercent())
	if percent < 0 || percent > 100 {
		return nil, fail(reasonBadRequest, fmt.Sprintf("percent %d: must be between 0 and 100", percent))
	}
	flags := app.Manifest{Limits: limitsFromProto(m.GetLimits()), Vars: m.GetVars()}
	if err := flags.Validate(); err != nil {
		return nil, fail(reasonBadRequest, err.Error())
	}

	content, archMf, err := s.source(name, m)
	if err != nil {
		return nil, err
	}
	mf := reqMf
	if archMf != nil {
		if reqMf != nil {
			return nil, fail(reasonBadRequest, fmt.Sprintf("the archive holds %s and the request carries a manifest: give one", archMf.File))
		}
		mf = archMf
	}
	spec := applyFlags(mf, flags)
	spec.Entry = content.Manifest.Entry
	if err := manifest.Validate(name, spec); err != nil {
		return nil, fail(reasonBadManifest, err.Error())
	}
	if err := appruntime.Limits(spec.Limits).WithDefaults().Validate(); err != nil {
		return nil, fail(reasonBadRequest, err.Error())
	}
	if hosts == nil && mf != nil && len(mf.Hosts) > 0 {
		if hosts, err = normalizeHosts(mf.Hosts); err != nil {
			return nil, err
		}
	}
	if err := s.checkReferences(ctx, name, spec, mf); err != nil {
		return nil, err
	}
	content.Manifest = spec
	data, id, err := app.EncodeContent(content)
	if err != nil {
		return nil, internal("encoding version", err)
	}

	verKey := app.VersionKey(name, id)
	_, _, err = s.st.Get(ctx, verKey)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, internal("reading version", err)
	}
	// A stored version was checked when it was first deployed.
	if !exists {
		if err := s.check(ctx, name, id, content); err != nil {
			return nil, err
		}
	}

	if rec, _, err := s.readApp(ctx, name); err != nil {
		return nil, err
	} else if rec != nil && rec.Deleted {
		return nil, fail(reasonAppDeleting, name, name)
	}
	if err := s.claimHosts(ctx, name, hosts); err != nil {
		return nil, err
	}
	// From here on, a failure releases the claims the app record does not list.
	unchanged := exists
	if !exists {
		if _, err := s.st.PutBlob(ctx, id, bytes.NewReader(data)); err != nil {
			s.releaseUnlisted(ctx, name, hosts)
			return nil, internal("storing version content", err)
		}
		author := m.GetAuthor()
		if author == "" {
			author = caller(ctx).rec.Name
		}
		vrec, _ := json.Marshal(app.VersionRecord{
			ID: id, App: name, Created: time.Now().UTC(),
			Message: m.GetMessage(), Author: author, Size: int64(len(data)),
			Entry: spec.Entry, Limits: spec.Limits, Vars: spec.Vars, Blob: id,
		})
		if _, err := s.st.Create(ctx, verKey, vrec); errors.Is(err, store.ErrExists) {
			unchanged = true // an identical deploy won the race
		} else if err != nil {
			s.releaseUnlisted(ctx, name, hosts)
			return nil, internal("storing version record", err)
		}
	}

	before, after, err := s.updateApp(ctx, name, true, func(r *app.AppRecord) error {
		if r.Deleted {
			return fail(reasonAppDeleting, name, name)
		}
		r.Active = activate(r.Active, id, percent)
		if hosts != nil {
			r.Hosts = hosts
		}
		return nil
	})
	if err != nil {
		s.releaseUnlisted(ctx, name, hosts)
		return nil, err
	}
	if dropped := missing(before.Hosts, after.Hosts); len(dropped) > 0 {
		s.releaseUnlisted(ctx, name, dropped)
	}
	// Pruning elsewhere may have removed this content's blob while it was
	// shared with another app; put it back before anyone loads it.
	if ok, err := s.st.BlobExists(ctx, id); err == nil && !ok {
		if _, err := s.st.PutBlob(ctx, id, bytes.NewReader(data)); err != nil {
			return nil, internal("restoring version content", err)
		}
	}
	if !unchanged {
		s.prune(ctx, name)
	}
	s.log.Info("deployed", "app", name, "version", app.ShortID(id), "unchanged", unchanged,
		"active", fmt.Sprint(after.Active), "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.DeployResponse{
		App: name, Version: id, Unchanged: unchanged, Active: splitsToProto(after.Active),
		Hosts: after.Hosts, Size: int64(len(data)),
	}), nil
}

// source returns the content's code, source map and entry, from a
// prebuilt bundle or by unpacking and bundling an archive, and the
// archive's manifest when it has one.
func (s *Service) source(name string, m *kumov1.DeployRequest) (app.Content, *manifest.Manifest, error) {
	switch src := m.GetSource().(type) {
	case *kumov1.DeployRequest_Bundle:
		b := src.Bundle
		if strings.TrimSpace(b.GetCode()) == "" {
			return app.Content{}, nil, fail(reasonBadRequest, "bundle.code is empty")
		}
		if n := int64(len(b.GetCode()) + len(b.GetSourceMap())); n > s.cfg.MaxBundleBytes {
			return app.Content{}, nil, fail(reasonTooLarge, fmt.Sprintf("bundle is %d bytes, over the limit of %d", n, s.cfg.MaxBundleBytes))
		}
		return app.Content{Code: b.GetCode(), SourceMap: b.GetSourceMap(), Manifest: app.Manifest{Entry: b.GetEntry()}}, nil, nil
	case *kumov1.DeployRequest_Archive:
		return s.buildArchive(name, src.Archive)
	default:
		return app.Content{}, nil, fail(reasonBadRequest, "give the code as a bundle or an archive")
	}
}

func (s *Service) buildArchive(name string, a *kumov1.Archive) (app.Content, *manifest.Manifest, error) {
	if n := int64(len(a.GetData())); n > s.cfg.MaxArchiveBytes {
		return app.Content{}, nil, fail(reasonTooLarge, fmt.Sprintf("archive is %d bytes, over the limit of %d", n, s.cfg.MaxArchiveBytes))
	}
	tmp, err := os.MkdirTemp("", "kumo-deploy-*")
	if err != nil {
		return app.Content{}, nil, internal("unpacking archive", err)
	}
	defer os.RemoveAll(tmp)
	// Compare real paths: the temp dir may sit behind a symlink (macOS).
	if real, err := filepath.EvalSymlinks(tmp); err == nil {
		tmp = real
	}
	lim := unpackLimits{maxBytes: s.cfg.MaxUnpackedBytes, maxFiles: s.cfg.MaxFiles}
	if err := unpack(a.GetData(), strings.ToLower(a.GetFormat()), tmp, lim); err != nil {
		var ae *archiveError
		if errors.As(err, &ae) && ae.tooLarge {
			return app.Content{}, nil, fail(reasonTooLarge, ae.msg)
		}
		return app.Content{}, nil, fail(reasonBadArchive, err.Error())
	}
	root := appRoot(tmp)
	mf, err := manifest.Load(root)
	if err != nil {
		return app.Content{}, nil, fail(reasonBadManifest, err.Error())
	}
	entry := a.GetEntry()
	if entry == "" && mf != nil {
		entry = mf.Main
	}
	res, err := bundle.Build(bundle.Options{Dir: root, Entry: entry})
	if err != nil {
		var be *bundle.Error
		if errors.As(err, &be) {
			return app.Content{}, nil, fail(reasonBuildFailed, name, be.Error())
		}
		// Other build errors name the temporary folder; keep them relative.
		msg := strings.ReplaceAll(err.Error(), root+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, root, ".")
		return app.Content{}, nil, fail(reasonBuildFailed, name, msg)
	}
	// The bundler follows imports wherever they lead; code uploaded to the
	// server must not pull in the server's own files.
	for _, in := range res.Inputs {
		if rel, err := filepath.Rel(root, in); err != nil || !filepath.IsLocal(rel) {
			return app.Content{}, nil, fail(reasonBadArchive, "an import resolves to a file outside the archive")
		}
		if filepath.Base(in) == manifest.DevVarsFile {
			return app.Content{}, nil, fail(reasonBadArchive, "the code imports "+manifest.DevVarsFile+" (local secrets for kumo dev); it is never bundled")
		}
	}
	if n := int64(len(res.Code) + len(res.SourceMapJSON)); n > s.cfg.MaxBundleBytes {
		return app.Content{}, nil, fail(reasonTooLarge, fmt.Sprintf("bundle is %d bytes, over the limit of %d", n, s.cfg.MaxBundleBytes))
	}
	return app.Content{Code: res.Code, SourceMap: res.SourceMapJSON, Manifest: app.Manifest{Entry: res.Entry}}, mf, nil
}

// requestManifest parses the manifest a deploy request carries; nil when
// it carries none.
func requestManifest(pm *kumov1.Manifest) (*manifest.Manifest, error) {
	if pm == nil || (pm.GetFile() == "" && len(pm.GetContent()) == 0) {
		return nil, nil
	}
	file := pm.GetFile()
	if file == "" {
		file = "kumo.yaml"
	}
	if !manifest.IsFileName(file) {
		return nil, fail(reasonBadRequest, fmt.Sprintf("manifest.file %q: want kumo.yaml, kumo.yml or kumo.json", file))
	}
	if n := len(pm.GetContent()); n > manifest.MaxSize {
		return nil, fail(reasonTooLarge, fmt.Sprintf("%s is %d bytes, over the limit of %d", file, n, manifest.MaxSize))
	}
	mf, err := manifest.Parse(file, pm.GetContent())
	if err != nil {
		return nil, fail(reasonBadManifest, err.Error())
	}
	return mf, nil
}

// applyFlags returns the manifest's version settings with the request's
// vars and non-zero limits on top.
func applyFlags(mf *manifest.Manifest, flags app.Manifest) app.Manifest {
	var m app.Manifest
	if mf != nil {
		m = mf.App
	}
	if len(flags.Vars) > 0 {
		vars := make(map[string]string, len(m.Vars)+len(flags.Vars))
		maps.Copy(vars, m.Vars)
		maps.Copy(vars, flags.Vars)
		m.Vars = vars
	}
	l, f := &m.Limits, flags.Limits
	for _, p := range []struct {
		dst *int64
		v   int64
	}{
		{&l.CPUMs, f.CPUMs}, {&l.TimeoutMs, f.TimeoutMs}, {&l.MemoryMB, f.MemoryMB},
		{&l.Subrequests, f.Subrequests}, {&l.Instances, f.Instances},
		{&l.RequestBodyMB, f.RequestBodyMB}, {&l.ResponseBodyMB, f.ResponseBodyMB},
		{&l.IdleTimeoutMs, f.IdleTimeoutMs},
	} {
		if p.v != 0 {
			*p.dst = p.v
		}
	}
	return m
}

// checkReferences refuses a version whose manifest names what does not
// exist: a service binding to an app that is not deployed, a secret that
// is not set. Every problem is named, with its manifest line when mf
// holds it.
func (s *Service) checkReferences(ctx context.Context, name string, m app.Manifest, mf *manifest.Manifest) error {
	var probs []string
	at := func(path string) string {
		if mf != nil {
			return mf.Position(path) + ": " + path
		}
		return path
	}
	for i, svc := range m.Services {
		rec, _, err := s.readApp(ctx, svc.App)
		if err != nil {
			return err
		}
		if rec == nil || rec.Deleted {
			probs = append(probs, fmt.Sprintf("%s: no app %q", at(fmt.Sprintf("services[%d].app", i)), svc.App))
		}
	}
	if len(m.Secrets) > 0 {
		if s.cfg.Secrets == nil {
			return fail(reasonNoSecrets)
		}
		missing, err := s.cfg.Secrets.Missing(ctx, name, m.Secrets)
		if err != nil {
			return internal("checking secrets", err)
		}
		for _, n := range missing {
			i := slices.Index(m.Secrets, n)
			probs = append(probs, fmt.Sprintf("%s: secret %q of app %q is not set: run kumo secret put %s %s",
				at(fmt.Sprintf("secrets[%d]", i)), n, name, name, n))
		}
	}
	if len(probs) > 0 {
		return fail(reasonMissingRef, strings.Join(probs, "\n"))
	}
	return nil
}

// check compiles the version and starts one instance of it, as a node
// would: this catches syntax errors (with positions mapped to the user's
// files), a top level that throws, and a module with no handler.
func (s *Service) check(ctx context.Context, name, id string, c app.Content) error {
	spec, err := appruntime.Spec(name, id, c, nil)
	if err != nil {
		return fail(reasonBadRequest, err.Error())
	}
	v, err := s.rt.Compile(spec)
	if err != nil {
		return fail(reasonBuildFailed, name, err.Error())
	}
	pool := s.rt.NewPool(v)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ValidateTimeout)
	defer cancel()
	// A version whose only handlers are scheduled or queue ones is valid:
	// Handles reports false for fetch without an error. A module with no
	// handler at all fails to start.
	if _, err := pool.Handles(ctx, "fetch"); err != nil {
		if strings.Contains(err.Error(), "no handler") {
			return fail(reasonNoHandler, name, err.Error())
		}
		return fail(reasonModuleFailed, name, err.Error())
	}
	return nil
}

// activate returns the active splits after deploying id with percent:
// 0 or 100 (or nothing to split with) make id the only active version;
// otherwise id gets percent and the stable version (the only active one,
// or the second of a split) the rest.
func activate(active []app.Split, id string, percent int) []app.Split {
	if percent == 0 || percent == 100 || len(active) == 0 {
		return []app.Split{{Version: id, Percent: 100}}
	}
	stable := active[len(active)-1].Version
	if stable == id {
		return []app.Split{{Version: id, Percent: 100}}
	}
	return []app.Split{{Version: id, Percent: percent}, {Version: stable, Percent: 100 - percent}}
}

// normalizeHosts returns the hosts lowercased, checked, sorted and
// deduplicated; nil when none are given.
func normalizeHosts(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for _, h := range in {
		h = app.NormalizeHost(h)
		if err := app.ValidHost(h); err != nil {
			return nil, fail(reasonBadHost, err)
		}
		out = append(out, h)
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// claimHosts claims each host for name: a claim is created if absent, kept
// if name already holds it, and refused if another app does. On refusal the
// claims made here are released again.
func (s *Service) claimHosts(ctx context.Context, name string, hosts []string) error {
	val, _ := json.Marshal(app.HostRecord{App: name})
	var created []string
	for _, h := range hosts {
		for attempt := 0; ; attempt++ {
			_, err := s.st.Create(ctx, app.HostKey(h), val)
			if err == nil {
				created = append(created, h)
				break
			}
			if !errors.Is(err, store.ErrExists) {
				s.releaseUnlisted(ctx, name, created)
				return internal("claiming host "+h, err)
			}
			owner, err := s.hostOwner(ctx, h)
			if err != nil {
				s.releaseUnlisted(ctx, name, created)
				return err
			}
			if owner == name {
				break
			}
			if owner != "" || attempt > 3 {
				s.releaseUnlisted(ctx, name, created)
				return fail(reasonHostTaken, h, owner)
			}
			// Released between Create and Get: try again.
		}
	}
	return nil
}

// hostOwner returns the app holding host, or "" when it is unclaimed.
func (s *Service) hostOwner(ctx context.Context, host string) (string, error) {
	data, _, err := s.st.Get(ctx, app.HostKey(host))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", internal("reading host claim "+host, err)
	}
	var hr app.HostRecord
	if err := json.Unmarshal(data, &hr); err != nil {
		return "", internal("reading host claim "+host, err)
	}
	return hr.App, nil
}

// releaseUnlisted deletes the claims of hosts that name holds but its app
// record (read now) does not list. Failures are logged: a stale claim only
// keeps a host from other apps until the next deploy or removal.
func (s *Service) releaseUnlisted(ctx context.Context, name string, hosts []string) {
	if len(hosts) == 0 {
		return
	}
	// The request may have been canceled; releasing must still happen.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	rec, _, err := s.readApp(ctx, name)
	if err != nil {
		s.log.Warn("releasing host claims", "app", name, "error", err)
		return
	}
	for _, h := range hosts {
		if rec != nil && !rec.Deleted && slices.Contains(rec.Hosts, h) {
			continue
		}
		if owner, err := s.hostOwner(ctx, h); err != nil || owner != name {
			continue
		}
		if err := s.st.Delete(ctx, app.HostKey(h)); err != nil {
			s.log.Warn("releasing host claim", "app", name, "host", h, "error", err)
		}
	}
}

// missing returns the elements of a not in b.
func missing(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// readApp returns app name's record and revision; nil and 0 when absent.
func (s *Service) readApp(ctx context.Context, name string) (*app.AppRecord, uint64, error) {
	data, rev, err := s.st.Get(ctx, app.AppKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, internal("reading app "+name, err)
	}
	var rec app.AppRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, 0, internal("reading app "+name, err)
	}
	return &rec, rev, nil
}

// updateApp applies change to app name's record atomically: read it,
// change a copy, write it back only if it is still the revision read, and
// retry from the read on a conflict, so concurrent changes are each
// applied whole and none is lost. A missing record starts empty when
// create is set and is reported as not found otherwise. A change that
// leaves the record equal writes nothing. It returns the record before and
// after the change.
func (s *Service) updateApp(ctx context.Context, name string, create bool, change func(r *app.AppRecord) error) (before, after app.AppRecord, err error) {
	for attempt := range maxUpdateAttempts {
		cur, rev, err := s.readApp(ctx, name)
		if err != nil {
			return before, after, err
		}
		if cur == nil {
			if !create {
				return before, after, fail(reasonAppNotFound, name)
			}
			cur = &app.AppRecord{Name: name}
		}
		before = *cur
		next := *cur
		next.Active = slices.Clone(cur.Active)
		next.Hosts = slices.Clone(cur.Hosts)
		if err := change(&next); err != nil {
			return before, after, err
		}
		if rev != 0 && slices.Equal(next.Active, cur.Active) && slices.Equal(next.Hosts, cur.Hosts) && next.Deleted == cur.Deleted {
			return before, *cur, nil
		}
		now := time.Now().UTC()
		if rev == 0 {
			next.Created = now
		}
		next.Updated = now
		if next.Hosts == nil {
			next.Hosts = []string{}
		}
		data, _ := json.Marshal(next)
		_, err = s.st.Update(ctx, app.AppKey(name), data, rev)
		if err == nil {
			return before, next, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return before, after, internal("updating app "+name, err)
		}
		// Back off a little, randomly, so contenders spread out.
		select {
		case <-time.After(time.Duration(rand.IntN(attempt+1)+1) * time.Millisecond):
		case <-ctx.Done():
			return before, after, internal("updating app "+name, ctx.Err())
		}
	}
	return before, after, fail(reasonContended, name)
}

// prune deletes the oldest inactive versions of name beyond MaxVersions,
// with their blobs when no other app's version shares them. Failures are
// logged, not returned: the deploy itself succeeded.
func (s *Service) prune(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	versions, err := s.loadVersions(ctx, name)
	if err != nil || len(versions) <= s.cfg.MaxVersions {
		if err != nil {
			s.log.Warn("pruning versions", "app", name, "error", err)
		}
		return
	}
	rec, _, err := s.readApp(ctx, name)
	if err != nil || rec == nil {
		return
	}
	// Newest first; keep MaxVersions of them plus whatever is active.
	var doomed []app.VersionRecord
	for i, v := range versions {
		if i >= s.cfg.MaxVersions && !rec.IsActive(v.ID) {
			doomed = append(doomed, v)
		}
	}
	for _, v := range doomed {
		if err := s.st.Delete(ctx, app.VersionKey(name, v.ID)); err != nil {
			s.log.Warn("pruning version", "app", name, "version", app.ShortID(v.ID), "error", err)
		}
	}
	// A rollback may have activated a doomed version meanwhile: put its
	// record back and keep its blob.
	rec, _, err = s.readApp(ctx, name)
	if err != nil {
		return
	}
	for _, v := range doomed {
		if rec != nil && rec.IsActive(v.ID) {
			data, _ := json.Marshal(v)
			if _, err := s.st.Put(ctx, app.VersionKey(name, v.ID), data); err != nil {
				s.log.Warn("restoring pruned active version", "app", name, "version", app.ShortID(v.ID), "error", err)
			}
			continue
		}
		s.deleteBlobIfUnused(ctx, v.ID)
		s.log.Info("pruned version", "app", name, "version", app.ShortID(v.ID))
	}
}

// deleteBlobIfUnused deletes the content blob id unless a version of any
// app still names it (equal content in two apps shares one blob).
func (s *Service) deleteBlobIfUnused(ctx context.Context, id string) {
	users, err := scan(ctx, s.st, "versions.*."+id)
	if err != nil {
		s.log.Warn("checking blob users", "blob", app.ShortID(id), "error", err)
		return
	}
	if len(users) > 0 {
		return
	}
	if err := s.st.DeleteBlob(ctx, id); err != nil {
		s.log.Warn("deleting blob", "blob", app.ShortID(id), "error", err)
	}
}

// loadVersions returns app name's version records, newest first.
func (s *Service) loadVersions(ctx context.Context, name string) ([]app.VersionRecord, error) {
	vals, err := scan(ctx, s.st, app.VersionsPrefix(name)+".*")
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s: %w", name, err)
	}
	out := make([]app.VersionRecord, 0, len(vals))
	for key, v := range vals {
		var rec app.VersionRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, fmt.Errorf("reading %s: %w", key, err)
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func limitsFromProto(l *kumov1.Limits) app.Limits {
	return app.Limits{
		CPUMs: l.GetCpuMs(), TimeoutMs: l.GetTimeoutMs(), MemoryMB: l.GetMemoryMb(),
		Subrequests: l.GetSubrequests(), Instances: l.GetInstances(),
		RequestBodyMB: l.GetRequestBodyMb(), ResponseBodyMB: l.GetResponseBodyMb(),
		IdleTimeoutMs: l.GetIdleTimeoutMs(),
	}
}

func splitsToProto(ss []app.Split) []*kumov1.Split {
	out := make([]*kumov1.Split, len(ss))
	for i, sp := range ss {
		out[i] = &kumov1.Split{Version: sp.Version, Percent: int32(sp.Percent)}
	}
	return out
}

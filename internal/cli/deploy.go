package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/manifest"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

type deployOptions struct {
	clientOptions
	app, message, author, entry string
	hosts, vars                 []string
	percent                     int
	promote                     bool
	cpuMs, timeoutMs, memoryMB  int64
	instances                   int64
}

func newDeployCmd() *cobra.Command {
	var o deployOptions
	cmd := &cobra.Command{
		Use:   "deploy [DIR|ARCHIVE]",
		Short: "Deploy the app in DIR (bundled here) or in a .tar.gz/.zip ARCHIVE (bundled by the server)",
		Long: `Deploy a new version of an app and make it serve.

A folder is bundled locally and uploaded; a .tar.gz, .tgz or .zip file is
uploaded as is and bundled by the server. The folder's kumo.yaml (or
kumo.json; see docs/manifest.md) goes along: its main is the entry, its
limits, vars, bindings, triggers and hosts apply, and the flags below
override them. The app name defaults to the manifest's name, then to the
folder's (or archive's) name. The server checks the version completely
(syntax, top-level errors, handlers, host claims) before storing anything.

Deploying content that is already a version of the app creates nothing
("unchanged") and makes that version active.

With --percent N (1-99) the new version gets N% of the traffic and the
current version the rest; run 'kumo deploy --promote --app NAME' to give the
new version all of it, or 'kumo rollback' to go back.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := "."
			if len(args) == 1 {
				src = args[0]
			}
			return runDeploy(cmd.Context(), cmd.OutOrStdout(), src, &o)
		},
	}
	addClientFlags(cmd, &o.clientOptions)
	f := cmd.Flags()
	f.StringVar(&o.app, "app", "", "app name (default: the folder or archive name)")
	f.StringVarP(&o.message, "message", "m", "", "a note kept with the version")
	f.StringVar(&o.author, "author", "", "who deploys (default: your user name)")
	f.StringArrayVar(&o.hosts, "host", nil, "hostname the app serves at its root; repeat for several (replaces the app's hosts)")
	f.IntVar(&o.percent, "percent", 100, "share of traffic for the new version; 1-99 splits with the current version")
	f.BoolVar(&o.promote, "promote", false, "deploy nothing: give the version being rolled out 100% of the traffic")
	f.StringVar(&o.entry, "entry", "", "entry file (default: package.json main, index.ts, index.js, ...)")
	f.StringArrayVar(&o.vars, "var", nil, "KEY=VALUE exposed to handlers in env; repeat for several")
	f.Int64Var(&o.cpuMs, "cpu-ms", 0, "CPU time limit per request in ms (0: default)")
	f.Int64Var(&o.timeoutMs, "timeout-ms", 0, "wall time limit per request in ms (0: default)")
	f.Int64Var(&o.memoryMB, "memory-mb", 0, "memory limit per instance in MiB (0: default)")
	f.Int64Var(&o.instances, "instances", 0, "concurrent instances per version (0: default)")
	return cmd
}

func runDeploy(ctx context.Context, out io.Writer, src string, o *deployOptions) error {
	if o.promote {
		return runPromote(ctx, out, src, o)
	}
	if strings.HasPrefix(src, "git@") || strings.HasSuffix(src, ".git") ||
		(strings.Contains(src, "://") && !strings.HasPrefix(src, "file://")) {
		return fmt.Errorf("deploying from a git URL is not supported yet: clone %s and deploy the folder", src)
	}
	if o.percent < 0 || o.percent > 100 {
		return fmt.Errorf("--percent %d: must be between 0 and 100", o.percent)
	}
	req := &kumov1.DeployRequest{
		Message: o.message, Author: o.author, Hosts: o.hosts,
		Percent: int32(o.percent),
		Limits:  &kumov1.Limits{CpuMs: o.cpuMs, TimeoutMs: o.timeoutMs, MemoryMb: o.memoryMB, Instances: o.instances},
	}
	if req.Author == "" {
		if u, err := user.Current(); err == nil {
			req.Author = u.Username
		}
	}
	if len(o.vars) > 0 {
		req.Vars = make(map[string]string, len(o.vars))
		for _, kv := range o.vars {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("--var %q: want KEY=VALUE", kv)
			}
			req.Vars[k] = v
		}
	}

	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	// Name the app first: a bad name is reported before any bundling.
	var (
		name, format string
		mf           *manifest.Manifest
		archive      []byte
	)
	if fi.IsDir() {
		abs, err := filepath.Abs(src)
		if err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
		if mf, err = manifest.Load(abs); err != nil {
			return fmt.Errorf("reading the manifest of %s:\n%w", src, err)
		}
		src, name = abs, filepath.Base(abs)
	} else {
		base := filepath.Base(src)
		for _, ext := range []struct{ suffix, format string }{{".tar.gz", "tar.gz"}, {".tgz", "tar.gz"}, {".zip", "zip"}} {
			if strings.HasSuffix(strings.ToLower(base), ext.suffix) {
				name, format = base[:len(base)-len(ext.suffix)], ext.format
				break
			}
		}
		if format == "" {
			return fmt.Errorf("%s is neither a folder nor a .tar.gz, .tgz or .zip archive", src)
		}
		if archive, err = os.ReadFile(src); err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
		// The server reads the archive's manifest; here it only names the app.
		if mf, err = manifest.FromArchive(archive, format); err != nil {
			return fmt.Errorf("reading the manifest in %s:\n%w", src, err)
		}
	}
	if mf != nil {
		name = cmp.Or(mf.Name, name)
	}
	req.App = cmp.Or(o.app, name)
	if err := app.ValidName(req.App); err != nil {
		return fmt.Errorf("%w; choose a name with --app", err)
	}

	var what string
	if format == "" {
		entry := o.entry
		if entry == "" && mf != nil {
			entry = mf.Main
		}
		res, err := bundle.Build(bundle.Options{Dir: src, Entry: entry})
		if err != nil {
			var be *bundle.Error
			if errors.As(err, &be) {
				return fmt.Errorf("bundling %s:\n%w", src, be)
			}
			return err
		}
		for _, in := range res.Inputs {
			if filepath.Base(in) == manifest.DevVarsFile {
				return fmt.Errorf("bundling %s: the code imports %s (local secrets for kumo dev); it is never deployed", src, in)
			}
		}
		req.Source = &kumov1.DeployRequest_Bundle{Bundle: &kumov1.Bundle{Code: res.Code, SourceMap: res.SourceMapJSON, Entry: res.Entry}}
		if mf != nil {
			req.Manifest = &kumov1.Manifest{File: mf.File, Content: mf.Raw}
		}
		what = "bundled from " + res.Entry
	} else {
		req.Source = &kumov1.DeployRequest_Archive{Archive: &kumov1.Archive{Data: archive, Format: format, Entry: o.entry}}
		what = fmt.Sprintf("bundled by the server from %s (%s)", filepath.Base(src), formatBytes(int64(len(archive))))
	}

	c, err := o.dial()
	if err != nil {
		return err
	}
	resp, err := c.Deploy(ctx, connect.NewRequest(req))
	if err != nil {
		return c.explain(err)
	}
	r := resp.Msg
	if r.Unchanged {
		fmt.Fprintf(out, "%s: version %s unchanged (this content is already deployed)\n", r.App, shortID(r.Version))
	} else {
		fmt.Fprintf(out, "%s: deployed version %s (%s, %s)\n", r.App, shortID(r.Version), formatBytes(r.Size), what)
	}
	fmt.Fprintf(out, "  id:      %s\n", r.Version)
	fmt.Fprintf(out, "  serving: %s\n", formatSplits(r.Active))
	if len(r.Hosts) > 0 {
		fmt.Fprintf(out, "  hosts:   %s\n", strings.Join(r.Hosts, ", "))
	}
	return nil
}

func runPromote(ctx context.Context, out io.Writer, src string, o *deployOptions) error {
	name := o.app
	if name == "" {
		abs, err := filepath.Abs(src)
		if err != nil {
			return err
		}
		name = filepath.Base(abs)
	}
	c, err := o.dial()
	if err != nil {
		return err
	}
	resp, err := c.Promote(ctx, connect.NewRequest(&kumov1.PromoteRequest{App: name}))
	if err != nil {
		return c.explain(err)
	}
	fmt.Fprintf(out, "%s: promoted; serving %s\n", name, formatSplits(resp.Msg.Active))
	return nil
}

// formatSplits prints active versions as "3f2a9c1b7e4d 90%, 0b1c2d3e4f5a 10%".
func formatSplits(ss []*kumov1.Split) string {
	if len(ss) == 0 {
		return "-"
	}
	sorted := append([]*kumov1.Split(nil), ss...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Percent > sorted[j].Percent })
	parts := make([]string, len(sorted))
	for i, s := range sorted {
		parts[i] = fmt.Sprintf("%s %d%%", shortID(s.Version), s.Percent)
	}
	return strings.Join(parts, ", ")
}

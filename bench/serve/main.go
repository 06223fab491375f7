// Command serve measures a `kumo serve` node holding many apps: requests/s
// and p99 (wrk) for one app among them, the cold-start latency of apps
// never loaded before, and the node's memory with every app deployed and
// some warm. bench/serve.sh builds the binary and runs it:
//
//	bench/serve.sh [-apps 1000] [-warm 100] [-cold 200] [-d 10s] [-c 32]
//
// The apps are written straight into a fresh data directory (content
// blob, version record and app record each, as the control plane writes
// them) before the node starts, which takes seconds instead of the minutes
// 1,000 deploys through the API would. Each app has its own version (the
// same bundle with a different var), so loading one loads nothing shared.
// With -pin, the node runs on CPU 0 and wrk on CPU 1 (taskset).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/store"
)

type options struct {
	kumo, appDir     string
	apps, warm, cold int
	duration, gap    time.Duration
	conns            int
	pin              bool
	dataDir, wrk     string
}

func main() {
	var o options
	flag.StringVar(&o.kumo, "kumo", "bin/kumo", "kumo binary")
	flag.StringVar(&o.appDir, "app", "bench/apps/hello", "app folder deployed as every app")
	flag.IntVar(&o.apps, "apps", 1000, "apps deployed")
	flag.IntVar(&o.warm, "warm", 100, "apps made warm before the memory reading")
	flag.IntVar(&o.cold, "cold", 200, "never-loaded apps whose first request is timed (twice: isolated, then back to back)")
	flag.DurationVar(&o.gap, "gap", 50*time.Millisecond, "pause before each isolated cold start")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "wrk duration")
	flag.IntVar(&o.conns, "c", 32, "wrk connections")
	flag.BoolVar(&o.pin, "pin", false, "pin the node to CPU 0 and wrk to CPU 1")
	flag.StringVar(&o.dataDir, "data", "", "data directory (default: a temporary one, removed after)")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.warm+2*o.cold > o.apps {
		return fmt.Errorf("-warm %d plus twice -cold %d exceed -apps %d", o.warm, o.cold, o.apps)
	}
	if o.dataDir == "" {
		dir, err := os.MkdirTemp("", "kumo-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.dataDir = dir
	}
	start := time.Now()
	if err := deployAll(o); err != nil {
		return err
	}
	fmt.Printf("deployed %d apps into %s in %v\n", o.apps, o.dataDir, time.Since(start).Round(time.Millisecond))

	node, err := startNode(o)
	if err != nil {
		return err
	}
	defer node.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	rssIdle := rss(node.pid())

	// Warm apps 0..warm-1: one request each loads the version and starts
	// an instance.
	for i := range o.warm {
		if _, err := fetch(client, node.url(i)); err != nil {
			return err
		}
	}
	rssWarm := rss(node.pid())

	// Throughput and p99 of one warm app among the others.
	target := node.url(0)
	wrkOut, err := runWrk(o, target)
	if err != nil {
		return err
	}
	rps, p99 := parseWrk(wrkOut)

	// Cold starts: apps never requested before. Each is timed on a
	// connection already open, so only the node's work counts: reading the
	// version, compiling it, starting an instance. First one at a time with
	// a pause in between, so the node has refilled its spare VMs (an
	// isolated cold start), then back to back (a burst, where refilling the
	// spares competes with the next start).
	isolated, err := coldStarts(client, node, o.warm, o.cold, o.gap)
	if err != nil {
		return err
	}
	burst, err := coldStarts(client, node, o.warm+o.cold, o.cold, 0)
	if err != nil {
		return err
	}
	var warmLat []time.Duration
	for i := o.warm; i < o.warm+o.cold; i++ {
		d, err := fetch(client, node.url(i))
		if err != nil {
			return err
		}
		warmLat = append(warmLat, d)
	}
	rssAfter := rss(node.pid())

	fmt.Println()
	fmt.Printf("node with %d apps deployed (one version each)\n", o.apps)
	fmt.Printf("  one warm app, wrk -c%d %v:  %s requests/s, p99 %s\n", o.conns, o.duration, rps, p99)
	fmt.Printf("  cold start, isolated (%d apps, %v apart): p50 %v  p90 %v  p99 %v  max %v\n",
		len(isolated), o.gap, pct(isolated, 50), pct(isolated, 90), pct(isolated, 99), pct(isolated, 100))
	fmt.Printf("  cold start, back to back (%d apps):       p50 %v  p90 %v  p99 %v  max %v\n",
		len(burst), pct(burst, 50), pct(burst, 90), pct(burst, 99), pct(burst, 100))
	fmt.Printf("  a warm request of the same apps (1 GET):   p50 %v  p90 %v  p99 %v\n",
		pct(warmLat, 50), pct(warmLat, 90), pct(warmLat, 99))
	fmt.Printf("  RSS: %d deployed, none loaded: %s; %d warm: %s; %d warm: %s\n",
		o.apps, mib(rssIdle), o.warm, mib(rssWarm), o.warm+2*o.cold, mib(rssAfter))
	fmt.Printf("  RSS per warm app (first %d): %.0f KiB\n", o.warm, float64(rssWarm-rssIdle)/1024/float64(max(o.warm, 1)))
	return nil
}

// coldStarts times the first request of n apps from first, waiting gap
// before each.
func coldStarts(c *http.Client, node *nodeProc, first, n int, gap time.Duration) ([]time.Duration, error) {
	var ds []time.Duration
	for i := first; i < first+n; i++ {
		if gap > 0 {
			time.Sleep(gap)
		}
		d, err := fetch(c, node.url(i))
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// deployAll writes o.apps apps into a store in o.dataDir.
func deployAll(o options) error {
	res, err := bundle.Build(bundle.Options{Dir: o.appDir})
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: o.dataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := deployOne(ctx, st, appName(i), res); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() {
		defer close(next)
		for i := range o.apps {
			select {
			case next <- i:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	return <-errs
}

func appName(i int) string { return fmt.Sprintf("app-%04d", i) }

// deployOne writes what a deploy writes: the content blob, the version
// record and the app record with the version active.
func deployOne(ctx context.Context, st *store.Store, name string, res *bundle.Result) error {
	c := app.Content{Code: res.Code, SourceMap: res.SourceMapJSON,
		Manifest: app.Manifest{Entry: res.Entry, Vars: map[string]string{"APP": name}}}
	data, id, err := app.EncodeContent(c)
	if err != nil {
		return err
	}
	if _, err := st.PutBlob(ctx, id, bytes.NewReader(data)); err != nil {
		return err
	}
	now := time.Now().UTC()
	ver, _ := json.Marshal(app.VersionRecord{ID: id, App: name, Created: now, Message: "bench", Author: "bench",
		Size: int64(len(data)), Entry: res.Entry, Vars: c.Manifest.Vars, Blob: id})
	if _, err := st.Put(ctx, app.VersionKey(name, id), ver); err != nil {
		return err
	}
	rec, _ := json.Marshal(app.AppRecord{Name: name, Active: []app.Split{{Version: id, Percent: 100}}, Created: now, Updated: now})
	_, err = st.Put(ctx, app.AppKey(name), rec)
	return err
}

// nodeProc is the running `kumo serve`.
type nodeProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

func (n *nodeProc) pid() int         { return n.cmd.Process.Pid }
func (n *nodeProc) url(i int) string { return "http://" + n.addr + "/" + appName(i) + "/" }

func (n *nodeProc) stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

func startNode(o options) (*nodeProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	ctl, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{o.kumo, "serve", "--data", o.dataDir, "--addr", addr, "--control-addr", ctl}
	if o.pin {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(os.TempDir(), "kumo-bench-serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nodeProc{cmd: cmd, addr: addr, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "control plane on") {
				once.Do(func() { close(ready) })
			}
		}
		_ = cmd.Wait()
		logFile.Close()
		close(n.done)
	}()
	select {
	case <-ready:
	case <-n.done:
		return nil, fmt.Errorf("kumo serve exited at start; see %s", logPath)
	case <-time.After(60 * time.Second):
		n.stop()
		return nil, fmt.Errorf("kumo serve not ready in 60s; see %s", logPath)
	}
	fmt.Printf("kumo serve ready in %v (log: %s)\n", time.Since(started).Round(time.Millisecond), logPath)
	return n, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// fetch GETs url, checks for a 200 and returns the time to the whole body.
func fetch(c *http.Client, url string) (time.Duration, error) {
	start := time.Now()
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return d, nil
}

func runWrk(o options, url string) (string, error) {
	warm := []string{o.wrk, "-t1", "-c" + strconv.Itoa(o.conns), "-d2s", url}
	args := []string{o.wrk, "-t1", "-c" + strconv.Itoa(o.conns), "-d" + o.duration.String(), "--latency", url}
	if o.pin {
		warm = append([]string{"taskset", "-c", "1"}, warm...)
		args = append([]string{"taskset", "-c", "1"}, args...)
	}
	if err := exec.Command(warm[0], warm[1:]...).Run(); err != nil {
		return "", fmt.Errorf("running wrk (warm-up): %w", err)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("running wrk: %w\n%s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return "", errors.New("wrk saw non-2xx responses:\n" + string(out))
	}
	return string(out), nil
}

var (
	rpsRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Re = regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`)
)

func parseWrk(out string) (rps, p99 string) {
	rps, p99 = "?", "?"
	if m := rpsRe.FindStringSubmatch(out); m != nil {
		rps = m[1]
	}
	if m := p99Re.FindStringSubmatch(out); m != nil {
		p99 = m[1]
	}
	return rps, p99
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}

// rss is the resident set of pid in bytes, from /proc/<pid>/status.
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Command loadgen sends HTTP requests at a fixed rate (open loop) and
// prints latency percentiles. Latency is measured from the moment each
// request was due, so a stalled server cannot hide its queueing delay
// (coordinated omission). bench/run.sh uses it for "p99 at half load";
// wrk measures the maximum rate.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "target URL")
	rate := flag.Int("rate", 1000, "requests per second")
	dur := flag.Duration("d", 5*time.Second, "duration")
	conns := flag.Int("c", 64, "maximum concurrent requests")
	body := flag.String("body", "", "POST this body instead of GET")
	flag.Parse()
	if *url == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "usage: loadgen -url URL -rate N [-d 5s] [-c 64] [-body JSON]")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}}
	interval := time.Second / time.Duration(*rate)
	n := int(*dur / interval)
	lat := make([]time.Duration, n)
	errs := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, *conns)
	start := time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer func() { <-sem; wg.Done() }()
			var resp *http.Response
			var err error
			if *body != "" {
				resp, err = client.Post(*url, "application/json", bytes.NewBufferString(*body))
			} else {
				resp, err = client.Get(*url)
			}
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			lat[i] = time.Since(due)
			if err != nil {
				mu.Lock()
				errs++
				mu.Unlock()
			}
		}(i, due)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	fmt.Printf("sent=%d rate=%.0f/s errors=%d p50=%.3fms p90=%.3fms p99=%.3fms max=%.3fms\n",
		n, float64(n)/elapsed.Seconds(), errs, pct(0.50), pct(0.90), pct(0.99), pct(1))
}

// Command loadgen sends HTTP/1.1 requests at a fixed rate (open loop) and
// prints latency percentiles. bench/run.sh uses it for "p99 at half load";
// wrk measures the maximum rate.
//
// The load is open loop: requests are sent on schedule whether or not
// earlier ones were answered, each on a free kept-alive connection (with
// -c well above rate × latency one is always free). Latency runs from the
// moment a request is written: Go's timers wake up to a millisecond late on
// Linux, and counting that lateness would show as server latency. The
// client speaks HTTP/1.1 itself: net/http's client costs more CPU per
// request than the servers under test.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

func main() {
	target := flag.String("url", "", "target URL (http only)")
	rate := flag.Int("rate", 1000, "requests per second")
	dur := flag.Duration("d", 5*time.Second, "duration")
	conns := flag.Int("c", 64, "connections (the most requests in flight)")
	body := flag.String("body", "", "POST this JSON body instead of GET")
	flag.Parse()
	u, err := url.Parse(*target)
	if *target == "" || *rate <= 0 || err != nil || u.Scheme != "http" {
		fmt.Fprintln(os.Stderr, "usage: loadgen -url http://HOST/PATH -rate N [-d 5s] [-c 32] [-body JSON]")
		os.Exit(2)
	}
	req := buildRequest(u, *body)
	interval := time.Second / time.Duration(*rate)
	n := int(*dur / interval)
	lat := make([]time.Duration, n)
	type job struct{ i int }
	jobs := make(chan job, n)
	var mu sync.Mutex
	errs := 0
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *conn
			for j := range jobs {
				var err error
				if c == nil {
					c, err = dial(u.Host)
				}
				sent := time.Now()
				if err == nil {
					err = c.roundTrip(req)
				}
				lat[j.i] = time.Since(sent)
				if err != nil {
					if c != nil {
						c.nc.Close()
						c = nil
					}
					mu.Lock()
					errs++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		// Sleep until due; a late wake-up sends the overdue requests at
		// once, keeping the rate.
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- job{i}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	fmt.Printf("sent=%d rate=%.0f/s errors=%d p50=%.3fms p90=%.3fms p99=%.3fms max=%.3fms\n",
		n, float64(n)/elapsed.Seconds(), errs, pct(0.50), pct(0.90), pct(0.99), pct(1))
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "first error:", firstErr)
	}
}

func buildRequest(u *url.URL, body string) []byte {
	var b bytes.Buffer
	method := "GET"
	if body != "" {
		method = "POST"
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kumo-loadgen\r\n", method, u.RequestURI(), u.Host)
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}

type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dial(addr string) (*conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
}

// roundTrip sends req and reads one response whose body has a
// Content-Length (the servers under test answer so).
func (c *conn) roundTrip(req []byte) error {
	if _, err := c.nc.Write(req); err != nil {
		return err
	}
	status, err := c.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("status line %q", bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil {
				return fmt.Errorf("content-length %q", value)
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = c.r.Discard(length)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

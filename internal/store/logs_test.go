package store_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

func appendLines(t *testing.T, s *store.Store, app string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := s.AppendLog(t.Context(), app, []byte(app+" "+strconv.Itoa(i))); err != nil {
			t.Fatalf("AppendLog: %v", err)
		}
	}
}

func lines(app string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, app+" "+strconv.Itoa(i))
	}
	return out
}

func asStrings(b [][]byte) []string {
	var out []string
	for _, l := range b {
		out = append(out, string(l))
	}
	return out
}

func TestLogsReadAndFollow(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	appendLines(t, s, "hello", 1, 5)
	appendLines(t, s, "other", 1, 2)

	for _, tc := range []struct {
		n    int
		want []string
	}{
		{3, lines("hello", 3, 5)},
		{5, lines("hello", 1, 5)},
		{100, lines("hello", 1, 5)},
		{1, lines("hello", 5, 5)},
	} {
		got, err := s.ReadLogs(ctx, "hello", tc.n)
		if err != nil {
			t.Fatalf("ReadLogs(%d): %v", tc.n, err)
		}
		if !slices.Equal(asStrings(got), tc.want) {
			t.Errorf("ReadLogs(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got, err := s.ReadLogs(ctx, "nobody", 10); err != nil || len(got) != 0 {
		t.Errorf("ReadLogs of an app without logs = %q, %v", got, err)
	}

	ch, stop, err := s.FollowLogs(ctx, "hello", 2)
	if err != nil {
		t.Fatalf("FollowLogs: %v", err)
	}
	next := func() string { t.Helper(); return string(testutil.Receive(t, ch, wait, "log line")) }
	for _, want := range lines("hello", 4, 5) {
		if got := next(); got != want {
			t.Fatalf("history line = %q, want %q", got, want)
		}
	}
	appendLines(t, s, "other", 3, 3)
	appendLines(t, s, "hello", 6, 7)
	for _, want := range lines("hello", 6, 7) {
		if got := next(); got != want {
			t.Fatalf("live line = %q, want %q", got, want)
		}
	}
	stop()
	stop()
	if _, ok := <-ch; ok {
		t.Fatal("follow channel open after stop")
	}
}

func TestFollowLogsNewOnly(t *testing.T) {
	s := testutil.Store(t)
	appendLines(t, s, "hello", 1, 3)
	ch, stop, err := s.FollowLogs(t.Context(), "hello", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	appendLines(t, s, "hello", 4, 4)
	if got := string(testutil.Receive(t, ch, wait)); got != "hello 4" {
		t.Fatalf("first followed line = %q, want hello 4", got)
	}

	// An app with no lines yet: history is empty, the first line arrives.
	ch2, stop2, err := s.FollowLogs(t.Context(), "fresh", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	appendLines(t, s, "fresh", 1, 1)
	if got := string(testutil.Receive(t, ch2, wait)); got != "fresh 1" {
		t.Fatalf("first line of a new app = %q, want fresh 1", got)
	}
}

func TestLogsKeepLastLinesPerApp(t *testing.T) {
	s := testutil.OpenStore(t, store.Config{LogMaxLinesPerApp: 10})
	appendLines(t, s, "hello", 1, 25)
	got, err := s.ReadLogs(t.Context(), "hello", 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := lines("hello", 16, 25); !slices.Equal(asStrings(got), want) {
		t.Errorf("ReadLogs = %q, want %q", got, want)
	}
}

func TestLogsInvalidApp(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	for _, app := range []string{"", "Hello", "-x", "a.b", "a*", "a b", string(make([]byte, 64))} {
		if err := s.AppendLog(ctx, app, []byte("x")); !errors.Is(err, store.ErrInvalidAppName) {
			t.Errorf("AppendLog(%q): err = %v, want ErrInvalidAppName", app, err)
		}
		if _, err := s.ReadLogs(ctx, app, 1); !errors.Is(err, store.ErrInvalidAppName) {
			t.Errorf("ReadLogs(%q): err = %v", app, err)
		}
		if _, _, err := s.FollowLogs(ctx, app, 0); !errors.Is(err, store.ErrInvalidAppName) {
			t.Errorf("FollowLogs(%q): err = %v", app, err)
		}
	}
	if _, err := s.ReadLogs(ctx, "hello", 0); err == nil {
		t.Error("ReadLogs with n = 0 succeeded")
	}
}

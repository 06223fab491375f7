package bindings

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/testutil"
)

func TestKeyTokensRoundTripAndPrefix(t *testing.T) {
	keys := []string{"a", "user:1", "with space", "ünïcödé/键", "a.b", "..x", "-_=/", "\x00\xff", strings.Repeat("z", 512)}
	for _, k := range keys {
		tok := string(appendKeyTokens(nil, k))
		got, ok := decodeKey(tok)
		if !ok || got != k {
			t.Errorf("key %q: tokens %q decode to %q, %v", k, tok, got, ok)
		}
		for _, c := range strings.Split(tok, ".") {
			if c == "" || strings.ContainsAny(c, " *>") {
				t.Errorf("key %q: bad token %q in %q", k, c, tok)
			}
		}
	}
	// A byte prefix is a token prefix.
	if p, k := string(appendKeyTokens(nil, "ab")), string(appendKeyTokens(nil, "ab:c")); !strings.HasPrefix(k, p+".") {
		t.Errorf("%q is not a token prefix of %q", p, k)
	}
}

func newKV(t *testing.T) *kvNamespace {
	t.Helper()
	st := testutil.Store(t)
	kv, err := OpenKV(st, "app", fmt.Sprintf("ns%d", rand.IntN(1000)))
	if err != nil {
		t.Fatal(err)
	}
	return kv.(*kvNamespace)
}

func TestKVGetPutDeleteMetadata(t *testing.T) {
	kv := newKV(t)
	ctx := t.Context()
	if v, err := kv.Get(ctx, "missing"); err != nil || v != nil {
		t.Fatalf("missing key: %v, %v", v, err)
	}
	if err := kv.Put(ctx, "k", []byte("v1"), binding.KVPutOptions{Metadata: []byte(`{ "a" : [1, 2] }`)}); err != nil {
		t.Fatal(err)
	}
	v, err := kv.Get(ctx, "k")
	if err != nil || v == nil || string(v.Value) != "v1" || string(v.Metadata) != `{"a":[1,2]}` || v.Expiration != 0 {
		t.Fatalf("get: %+v, %v", v, err)
	}
	if err := kv.Put(ctx, "k", []byte(""), binding.KVPutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, err := kv.Get(ctx, "k"); err != nil || v == nil || len(v.Value) != 0 || v.Metadata != nil {
		t.Fatalf("overwritten: %+v, %v", v, err)
	}
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	if v, err := kv.Get(ctx, "k"); err != nil || v != nil {
		t.Fatalf("deleted: %+v, %v", v, err)
	}
}

func TestKVInvalid(t *testing.T) {
	kv := newKV(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"empty key", kv.Put(ctx, "", nil, binding.KVPutOptions{}), "key is empty"},
		{"long key", kv.Put(ctx, strings.Repeat("k", 513), nil, binding.KVPutOptions{}), "key of 513 bytes is over the 512-byte limit"},
		{"dot", kv.Put(ctx, ".", nil, binding.KVPutOptions{}), `key "." is not allowed`},
		{"big value", kv.Put(ctx, "k", make([]byte, 30<<20), binding.KVPutOptions{}), "value of 30 MiB is over the 25 MiB limit"},
		{"bad metadata", kv.Put(ctx, "k", nil, binding.KVPutOptions{Metadata: []byte("{")}), "metadata is not valid JSON"},
		{"big metadata", kv.Put(ctx, "k", nil, binding.KVPutOptions{Metadata: []byte(`"` + strings.Repeat("m", 1100) + `"`)}), "metadata of 1102 bytes serialised is over the 1024-byte limit"},
		{"past expiration", kv.Put(ctx, "k", nil, binding.KVPutOptions{Expiration: time.Unix(1000, 0)}), "expiration 1000 is not in the future"},
	} {
		if tc.err == nil || !binding.IsInvalid(tc.err) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an InvalidError containing %q", tc.name, tc.err, tc.want)
		}
	}
	if _, err := kv.List(ctx, binding.KVListOptions{Limit: 1001}); !binding.IsInvalid(err) {
		t.Errorf("list limit 1001: %v", err)
	}
	if _, err := kv.List(ctx, binding.KVListOptions{Cursor: "!!"}); !binding.IsInvalid(err) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestKVLargeValues(t *testing.T) {
	kv := newKV(t)
	ctx := t.Context()
	for _, n := range []int{kvInlineMax, kvInlineMax + 1, 3<<20 + 17, binding.KVMaxValueBytes} {
		val := make([]byte, n)
		for i := range val {
			val[i] = byte(i * 7)
		}
		if err := kv.Put(ctx, "big", val, binding.KVPutOptions{Metadata: []byte(`{"n":1}`)}); err != nil {
			t.Fatalf("put %d: %v", n, err)
		}
		v, err := kv.Get(ctx, "big")
		if err != nil || v == nil || !bytes.Equal(v.Value, val) || string(v.Metadata) != `{"n":1}` {
			t.Fatalf("get %d: len %d, %v", n, len(v.Value), err)
		}
	}
	// A small value replaces a chunked one, and nothing of it is left.
	if err := kv.Put(ctx, "big", []byte("small"), binding.KVPutOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := kv.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("%d messages left in the stream, want 1", info.State.Msgs)
	}
	if v, err := kv.Get(ctx, "big"); err != nil || string(v.Value) != "small" {
		t.Fatalf("get small: %v, %v", v, err)
	}
}

// Concurrent writers of one key: every read sees one whole value, and when
// the writers are done only the last value's messages are left.
func TestKVConcurrentLargeWrites(t *testing.T) {
	kv := newKV(t)
	ctx := t.Context()
	const n = 1<<20 + 5
	vals := make([][]byte, 4)
	for i := range vals {
		vals[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
	}
	if err := kv.Put(ctx, "k", vals[0], binding.KVPutOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				close(readErr)
				return
			default:
			}
			v, err := kv.Get(ctx, "k")
			if err == nil && (v == nil || len(v.Value) != n || bytes.Count(v.Value, v.Value[:1]) != n) {
				err = fmt.Errorf("torn read: %v", v != nil)
			}
			if err != nil {
				readErr <- err
				close(readErr)
				return
			}
		}
	}()
	for i := range vals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if err := kv.Put(ctx, "k", vals[i], binding.KVPutOptions{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	v, err := kv.Get(ctx, "k")
	if err != nil || v == nil {
		t.Fatal(v, err)
	}
	info, err := kv.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(3); info.State.Msgs != want { // two chunks and the record
		t.Errorf("%d messages left, want %d", info.State.Msgs, want)
	}
}

func TestKVExpiry(t *testing.T) {
	kv := newKV(t)
	ctx := t.Context()
	start := time.Now()
	if err := kv.Put(ctx, "ttl", []byte("x"), binding.KVPutOptions{TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "abs", make([]byte, kvInlineMax+10), binding.KVPutOptions{Expiration: start.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	v, err := kv.Get(ctx, "ttl")
	if err != nil || v == nil || v.Expiration < start.Unix()+1 || v.Expiration > start.Unix()+2 {
		t.Fatalf("ttl key: %+v, %v", v, err)
	}
	l, err := kv.List(ctx, binding.KVListOptions{})
	if err != nil || len(l.Keys) != 2 || l.Keys[0].Name != "abs" || l.Keys[0].Expiration == 0 {
		t.Fatalf("list: %+v, %v", l, err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		v, err := kv.Get(ctx, "ttl")
		return err == nil && v == nil
	}, "ttl key to expire")
	testutil.Eventually(t, 5*time.Second, func() bool {
		v, err := kv.Get(ctx, "abs")
		return err == nil && v == nil
	}, "abs key to expire")
	if d := time.Since(start); d < time.Second {
		t.Fatalf("expired after %v", d)
	}
	// The server removes expired records itself (chunks of an expired
	// value live a minute longer, but no longer count as a key).
	testutil.Eventually(t, 5*time.Second, func() bool {
		info, err := kv.stream.Info(ctx, jetstreamSubjects(kv.subject("ttl")))
		return err == nil && len(info.State.Subjects) == 0
	}, "the expired key to leave the stream")
	if l, err := kv.List(ctx, binding.KVListOptions{}); err != nil || len(l.Keys) != 0 || !l.Complete {
		t.Fatalf("list after expiry: %+v, %v", l, err)
	}
}

func TestKVListPagingAndPrefixes(t *testing.T) {
	kv := newKV(t)
	ctx := t.Context()
	keys := []string{"a", "a b", "a/b", "a/b/c", "a:1", "ab", "b", "ünï", "ünïcode", "键", "z", "🙂"}
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("n/%03d", i))
	}
	for _, k := range keys {
		if err := kv.Put(ctx, k, []byte(k), binding.KVPutOptions{Metadata: []byte(fmt.Sprintf(`{"k":%q}`, k))}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(keys)
	list := func(prefix string, limit int) []string {
		var got []string
		cursor := ""
		for {
			l, err := kv.List(ctx, binding.KVListOptions{Prefix: prefix, Cursor: cursor, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Keys) > limit {
				t.Fatalf("page of %d keys, limit %d", len(l.Keys), limit)
			}
			for _, k := range l.Keys {
				if string(k.Metadata) != fmt.Sprintf(`{"k":%q}`, k.Name) {
					t.Fatalf("key %q metadata %s", k.Name, k.Metadata)
				}
				got = append(got, k.Name)
			}
			if l.Complete {
				if l.Cursor != "" {
					t.Fatalf("complete list with cursor %q", l.Cursor)
				}
				return got
			}
			cursor = l.Cursor
		}
	}
	for _, tc := range []struct {
		prefix string
		limit  int
	}{{"", 1000}, {"", 7}, {"a", 2}, {"a/", 1}, {"ü", 5}, {"n/0", 3}, {"none", 5}, {"a b", 10}} {
		var want []string
		for _, k := range keys {
			if strings.HasPrefix(k, tc.prefix) {
				want = append(want, k)
			}
		}
		if got := list(tc.prefix, tc.limit); !slices.Equal(got, want) {
			t.Errorf("prefix %q limit %d:\n got %q\nwant %q", tc.prefix, tc.limit, got, want)
		}
	}
}

func jetstreamSubjects(filter string) jetstream.StreamInfoOpt {
	return jetstream.WithSubjectFilter(filter)
}

package bindings

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/testutil"
)

func newBucket(t *testing.T) *objectBucket {
	t.Helper()
	b, err := OpenBucket(testutil.Store(t), "app", "files")
	if err != nil {
		t.Fatal(err)
	}
	return b.(*objectBucket)
}

// trickle returns at most 1000 bytes per Read, as a JS stream might.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), 1000)]) }

func TestBucketPutGetHeadDelete(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	if info, rc, err := b.Get(ctx, "nope"); info != nil || rc != nil || err != nil {
		t.Fatalf("absent: %v %v %v", info, rc, err)
	}
	for _, n := range []int{0, 1, 128 << 10, 1<<20 + 3} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i % 251)
		}
		sum := sha256.Sum256(data)
		info, err := b.Put(ctx, "dir/obj ü", trickle{bytes.NewReader(data)}, binding.ObjectPutOptions{
			HTTPMetadata:   map[string]string{"contentType": "image/png", "cacheControl": "max-age=60"},
			CustomMetadata: map[string]string{"owner": "me"},
		})
		if err != nil {
			t.Fatalf("put %d: %v", n, err)
		}
		if info.Size != int64(n) || info.ETag != hex.EncodeToString(sum[:]) || info.HTTPMetadata["contentType"] != "image/png" {
			t.Fatalf("put %d info: %+v", n, info)
		}
		head, err := b.Head(ctx, "dir/obj ü")
		if err != nil || head.ETag != info.ETag || head.CustomMetadata["owner"] != "me" || head.HTTPMetadata["cacheControl"] != "max-age=60" || head.Uploaded.IsZero() {
			t.Fatalf("head %d: %+v %v", n, head, err)
		}
		got, rc, err := b.Get(ctx, "dir/obj ü")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(body, data) || got.Size != int64(n) {
			t.Fatalf("get %d: %d bytes, %v", n, len(body), err)
		}
	}
	if err := b.Delete(ctx, "dir/obj ü", "never-there"); err != nil {
		t.Fatal(err)
	}
	if info, err := b.Head(ctx, "dir/obj ü"); info != nil || err != nil {
		t.Fatalf("after delete: %v %v", info, err)
	}
	info, err := b.stream.Info(ctx)
	if err != nil || info.State.Msgs != 0 {
		t.Fatalf("stream after delete: %d messages, %v", info.State.Msgs, err)
	}
}

func TestBucketInvalid(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	if _, err := b.Put(ctx, "", nil, binding.ObjectPutOptions{}); !binding.IsInvalid(err) {
		t.Errorf("empty key: %v", err)
	}
	if _, err := b.Put(ctx, "k", nil, binding.ObjectPutOptions{HTTPMetadata: map[string]string{"color": "red"}}); !binding.IsInvalid(err) || !strings.Contains(err.Error(), `no field "color"`) {
		t.Errorf("bad http metadata: %v", err)
	}
	if _, err := b.Put(ctx, "k", nil, binding.ObjectPutOptions{CustomMetadata: map[string]string{"a": strings.Repeat("x", 3000)}}); !binding.IsInvalid(err) {
		t.Errorf("big custom metadata: %v", err)
	}
	if err := b.Delete(ctx, make([]string, 1001)...); !binding.IsInvalid(err) {
		t.Errorf("delete 1001: %v", err)
	}
}

func TestBucketList(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	keys := []string{"a", "a/1", "a/2", "a/b/1", "a/b/2", "b", "c d/x", "c d/y", "ü/1", "ü/2", "🙂"}
	for i := range 25 {
		keys = append(keys, fmt.Sprintf("n/%02d", i))
	}
	for _, k := range keys {
		if _, err := b.Put(ctx, k, strings.NewReader(k), binding.ObjectPutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(keys)
	type entry struct{ objs, prefixes []string }
	list := func(prefix, delim string, limit int) entry {
		var e entry
		cursor := ""
		for {
			l, err := b.List(ctx, binding.ObjectListOptions{Prefix: prefix, Delimiter: delim, Cursor: cursor, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(l.Objects) + len(l.DelimitedPrefixes); n > limit {
				t.Fatalf("page of %d entries, limit %d", n, limit)
			}
			for _, o := range l.Objects {
				if o.Size != int64(len(o.Key)) {
					t.Fatalf("object %q size %d", o.Key, o.Size)
				}
				e.objs = append(e.objs, o.Key)
			}
			e.prefixes = append(e.prefixes, l.DelimitedPrefixes...)
			if !l.Truncated {
				return e
			}
			cursor = l.Cursor
		}
	}
	if got := list("", "", 4); !slices.Equal(got.objs, keys) || got.prefixes != nil {
		t.Errorf("all: %q %q", got.objs, got.prefixes)
	}
	got := list("", "/", 2)
	if want := []string{"a", "b", "🙂"}; !slices.Equal(got.objs, want) {
		t.Errorf("delimited objects %q, want %q", got.objs, want)
	}
	if want := []string{"a/", "c d/", "n/", "ü/"}; !slices.Equal(got.prefixes, want) {
		t.Errorf("delimited prefixes %q, want %q", got.prefixes, want)
	}
	got = list("a/", "/", 1)
	if !slices.Equal(got.objs, []string{"a/1", "a/2"}) || !slices.Equal(got.prefixes, []string{"a/b/"}) {
		t.Errorf("a/ delimited: %q %q", got.objs, got.prefixes)
	}
	if got := list("n/1", "", 3); len(got.objs) != 10 {
		t.Errorf("prefix n/1: %q", got.objs)
	}
}

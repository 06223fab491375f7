package manifest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// FromArchive parses the manifest of an app packed as a .tar.gz or .zip
// archive (format "tar.gz", "tgz" or "zip"), found at its root or inside
// its single top-level folder, as the server unpacks it. It returns nil and
// no error when there is none. It reads only what it needs and is meant
// for clients choosing defaults (the app name); the server parses the
// unpacked files again.
func FromArchive(data []byte, format string) (*Manifest, error) {
	files := make(map[string][]byte) // manifests by path
	var names []string               // every entry, for the root
	keep := func(name string, r io.Reader) error {
		name = strings.TrimPrefix(path.Clean("/"+name), "/")
		names = append(names, name)
		if !IsFileName(path.Base(name)) || strings.Count(name, "/") > 1 {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
		if err != nil {
			return err
		}
		files[name] = b
		return nil
	}
	switch format {
	case "tar.gz", "tgz":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		defer zr.Close()
		tr := tar.NewReader(zr)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("reading archive: %w", err)
			}
			if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeDir {
				if err := keep(hdr.Name, tr); err != nil {
					return nil, fmt.Errorf("reading archive: %w", err)
				}
			}
		}
	case "zip":
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		for _, f := range zr.File {
			if !f.Mode().IsRegular() && !f.Mode().IsDir() {
				continue
			}
			if !IsFileName(path.Base(f.Name)) {
				names = append(names, strings.TrimPrefix(path.Clean("/"+f.Name), "/"))
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("reading archive: %w", err)
			}
			err = keep(f.Name, rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("reading archive: %w", err)
			}
		}
	default:
		return nil, fmt.Errorf("archive format %q is not supported", format)
	}
	root := archiveRoot(names)
	var found []string
	for _, n := range fileNames {
		if _, ok := files[path.Join(root, n)]; ok {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return Parse(found[0], files[path.Join(root, found[0])])
	default:
		return nil, fmt.Errorf("the archive holds several manifests (%s); keep one", strings.Join(found, ", "))
	}
}

// archiveRoot is the folder the server bundles: the only top-level folder
// when everything is in one (besides __MACOSX), else the root.
func archiveRoot(names []string) string {
	top := make(map[string]bool)
	dirs := make(map[string]bool)
	for _, n := range names {
		if n == "" {
			continue
		}
		first, rest, nested := strings.Cut(n, "/")
		if first == "__MACOSX" {
			continue
		}
		top[first] = true
		if nested || rest != "" {
			dirs[first] = true
		}
	}
	if len(top) == 1 {
		for t := range top {
			if dirs[t] {
				return t
			}
		}
	}
	return ""
}

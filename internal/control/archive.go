package control

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Archive formats Deploy accepts.
const (
	FormatTarGz = "tar.gz"
	FormatZip   = "zip"
)

// archiveError is a refusal naming the problem with an archive; Deploy
// turns it into reasonBadArchive or, when tooLarge, reasonTooLarge.
type archiveError struct {
	msg      string
	tooLarge bool
}

func (e *archiveError) Error() string { return e.msg }

func refuse(format string, args ...any) error {
	return &archiveError{msg: fmt.Sprintf(format, args...)}
}

// unpackLimits bound what an archive may unpack to.
type unpackLimits struct {
	maxBytes int64 // total size of the files, counted as they are written
	maxFiles int   // entries of any kind
}

// unpack extracts an archive into dir (which exists and is empty). Only
// regular files and directories are accepted: absolute paths, ".."
// components, links, devices and pipes are refused, each naming the entry,
// and so is anything past the limits. Files are created exclusively, so an
// entry cannot replace an earlier one.
func unpack(data []byte, format, dir string, lim unpackLimits) error {
	u := &unpacker{dir: dir, lim: lim}
	switch format {
	case FormatTarGz, "tgz":
		return u.tarGz(data)
	case FormatZip:
		return u.zip(data)
	default:
		return refuse("format %q is not supported: use %q or %q", format, FormatTarGz, FormatZip)
	}
}

type unpacker struct {
	dir     string
	lim     unpackLimits
	written int64
	entries int
}

func (u *unpacker) tarGz(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return refuse("reading gzip: %v", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return refuse("reading tar: %v", err)
		}
		if err := u.next(); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			continue // PAX metadata, not a file
		case tar.TypeDir:
			err = u.mkdir(hdr.Name)
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old tars use TypeRegA
			err = u.file(hdr.Name, tr)
		case tar.TypeSymlink:
			err = u.refuseEntry(hdr.Name, "symbolic links are not allowed (it points to %q)", hdr.Linkname)
		case tar.TypeLink:
			err = u.refuseEntry(hdr.Name, "hard links are not allowed (it links to %q)", hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			err = u.refuseEntry(hdr.Name, "device files are not allowed")
		case tar.TypeFifo:
			err = u.refuseEntry(hdr.Name, "named pipes are not allowed")
		default:
			err = u.refuseEntry(hdr.Name, "entry type %q is not supported", string(hdr.Typeflag))
		}
		if err != nil {
			return err
		}
	}
}

func (u *unpacker) zip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return refuse("reading zip: %v", err)
	}
	for _, f := range zr.File {
		if err := u.next(); err != nil {
			return err
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			err = u.refuseEntry(f.Name, "symbolic links are not allowed")
		case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			err = u.refuseEntry(f.Name, "device files are not allowed")
		case mode&(fs.ModeNamedPipe|fs.ModeSocket) != 0:
			err = u.refuseEntry(f.Name, "named pipes and sockets are not allowed")
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			err = u.mkdir(f.Name)
		case mode.IsRegular():
			err = u.zipFile(f)
		default:
			err = u.refuseEntry(f.Name, "file mode %v is not supported", mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) zipFile(f *zip.File) error {
	// Check the name before opening, so a bad name is reported as such and
	// not as a decompression problem.
	if _, err := u.target(f.Name); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return refuse("archive entry %q: %v", f.Name, err)
	}
	defer rc.Close()
	return u.file(f.Name, rc)
}

// refuseEntry reports why an entry is refused, after the name checks so
// that a link with an unsafe name is reported for its name.
func (u *unpacker) refuseEntry(name, format string, args ...any) error {
	if _, err := u.target(name); err != nil {
		return err
	}
	return refuse("archive entry %q: %s", name, fmt.Sprintf(format, args...))
}

// next counts one more entry against the limit.
func (u *unpacker) next() error {
	u.entries++
	if u.entries > u.lim.maxFiles {
		return &archiveError{msg: fmt.Sprintf("archive has more than %d entries", u.lim.maxFiles), tooLarge: true}
	}
	return nil
}

// target checks an entry name and returns where it goes under dir, or ""
// for the archive's root itself.
func (u *unpacker) target(name string) (string, error) {
	switch {
	case name == "":
		return "", refuse("archive entry with an empty name")
	case strings.ContainsRune(name, 0):
		return "", refuse("archive entry %q: NUL in name", name)
	case strings.ContainsRune(name, '\\'):
		return "", refuse("archive entry %q: backslash in path (archive paths use /)", name)
	case strings.HasPrefix(name, "/") || len(name) >= 2 && name[1] == ':':
		return "", refuse("archive entry %q: absolute path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", refuse("archive entry %q: path contains '..'", name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	local := filepath.FromSlash(clean)
	if !filepath.IsLocal(local) { // belt and braces after the checks above
		return "", refuse("archive entry %q: path leaves the archive", name)
	}
	return filepath.Join(u.dir, local), nil
}

func (u *unpacker) mkdir(name string) error {
	p, err := u.target(name)
	if err != nil || p == "" {
		return err
	}
	if err := os.MkdirAll(p, 0o700); err != nil {
		return refuse("archive entry %q: %v", name, err)
	}
	return nil
}

func (u *unpacker) file(name string, r io.Reader) error {
	p, err := u.target(name)
	if err != nil {
		return err
	}
	if p == "" {
		return refuse("archive entry %q: a file cannot be the archive root", name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return refuse("archive entry %q: %v", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return refuse("archive entry %q appears twice", name)
	}
	if err != nil {
		return refuse("archive entry %q: %v", name, err)
	}
	left := u.lim.maxBytes - u.written
	n, err := io.Copy(f, io.LimitReader(r, left+1))
	u.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if u.written > u.lim.maxBytes {
		return &archiveError{msg: fmt.Sprintf("archive unpacks to more than %d bytes (at entry %q)", u.lim.maxBytes, name), tooLarge: true}
	}
	if err != nil {
		return refuse("archive entry %q: %v", name, err)
	}
	return nil
}

// appRoot is the folder of an unpacked archive to bundle: dir itself, or
// the only folder in it when the archive wraps everything in one folder
// (as `tar czf app.tgz app/` and GitHub archives do).
func appRoot(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return dir
	}
	var kept []os.DirEntry
	for _, e := range entries {
		if e.Name() != "__MACOSX" {
			kept = append(kept, e)
		}
	}
	if len(kept) == 1 && kept[0].IsDir() {
		return filepath.Join(dir, kept[0].Name())
	}
	return dir
}

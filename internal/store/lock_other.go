//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

// dirLock is a no-op where flock is unavailable: nothing then stops two
// stores from sharing a data directory.
type dirLock struct{}

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) unlock() error { return nil }

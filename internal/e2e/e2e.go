// Package e2e tests the kumo binary the way people run it: it builds
// cmd/kumo once, starts real `kumo serve` processes on loopback with
// temporary data directories and drives them over HTTP and the control API.
//
// The tests are slow (a build and several processes); `go test -short`
// skips them.
package e2e

// Package kumov1 holds the Go types generated from control.proto, the
// control-plane API (service kumo.v1.Control); kumov1connect holds its
// connect-go client and handler. Regenerate both with `make proto`.
package kumov1

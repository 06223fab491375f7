package control

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

// reason is one kind of control-plane failure. Every error the service
// returns is made by fail from the table below, so codes and wording live in
// one place and clients can test the stable id in ErrorDetail.reason.
type reason int

const (
	reasonNoToken reason = iota
	reasonBadToken
	reasonOutOfScope
	reasonAdminOnly
	reasonBadName
	reasonBadRequest
	reasonBadHost
	reasonHostTaken
	reasonBadArchive
	reasonTooLarge
	reasonBuildFailed
	reasonNoHandler
	reasonModuleFailed
	reasonAppNotFound
	reasonAppDeleting
	reasonVersionNotFound
	reasonAmbiguous
	reasonNoSplit
	reasonTokenNotFound
	reasonTokenNameTaken
	reasonContended
	reasonBadManifest
	reasonMissingRef
	reasonSecretNotFound
	reasonNoSecrets
	reasonBindingNotFound
	reasonInternal
	numReasons
)

// errorDef is one row of the error table: the stable id, the connect code
// (which fixes the HTTP status) and a fmt format for the message.
type errorDef struct {
	id     string
	code   connect.Code
	format string
}

// errorTable is read only. Keep messages actionable: say what is wrong
// and, where it helps, what to do.
var errorTable = [numReasons]errorDef{
	reasonNoToken:         {"NO_TOKEN", connect.CodeUnauthenticated, "missing bearer token: pass --token or set KUMO_TOKEN"},
	reasonBadToken:        {"BAD_TOKEN", connect.CodeUnauthenticated, "invalid or revoked token"},
	reasonOutOfScope:      {"OUT_OF_SCOPE", connect.CodePermissionDenied, "token %q is scoped to app %q and cannot act on app %q"},
	reasonAdminOnly:       {"ADMIN_ONLY", connect.CodePermissionDenied, "%s needs an admin token; token %q is scoped to app %q"},
	reasonBadName:         {"BAD_APP_NAME", connect.CodeInvalidArgument, "%v"},
	reasonBadRequest:      {"BAD_REQUEST", connect.CodeInvalidArgument, "%s"},
	reasonBadHost:         {"BAD_HOST", connect.CodeInvalidArgument, "%v"},
	reasonHostTaken:       {"HOST_TAKEN", connect.CodeAlreadyExists, "host %q is claimed by app %q"},
	reasonBadArchive:      {"BAD_ARCHIVE", connect.CodeInvalidArgument, "refusing archive: %s"},
	reasonTooLarge:        {"TOO_LARGE", connect.CodeInvalidArgument, "%s"},
	reasonBuildFailed:     {"BUILD_FAILED", connect.CodeInvalidArgument, "building %s:\n%s"},
	reasonNoHandler:       {"NO_HANDLER", connect.CodeInvalidArgument, "checking handlers of %s: %s"},
	reasonModuleFailed:    {"MODULE_FAILED", connect.CodeInvalidArgument, "loading %s: %s"},
	reasonAppNotFound:     {"APP_NOT_FOUND", connect.CodeNotFound, "app %q not found"},
	reasonAppDeleting:     {"APP_DELETING", connect.CodeFailedPrecondition, "app %q is being deleted; run `kumo rm %s` again to finish"},
	reasonVersionNotFound: {"VERSION_NOT_FOUND", connect.CodeNotFound, "app %q has no version %q (see `kumo versions %s`)"},
	reasonAmbiguous:       {"AMBIGUOUS", connect.CodeInvalidArgument, "%s %q is ambiguous: it matches %s"},
	reasonNoSplit:         {"NO_SPLIT", connect.CodeFailedPrecondition, "app %q has no traffic split to promote"},
	reasonTokenNotFound:   {"TOKEN_NOT_FOUND", connect.CodeNotFound, "no token named %q or with a hash starting %q"},
	reasonTokenNameTaken:  {"TOKEN_NAME_TAKEN", connect.CodeAlreadyExists, "a token named %q already exists"},
	reasonContended:       {"CONTENDED", connect.CodeAborted, "updating app %q: too many concurrent changes, try again"},
	reasonBadManifest:     {"BAD_MANIFEST", connect.CodeInvalidArgument, "%s"},
	reasonMissingRef:      {"MISSING_REFERENCE", connect.CodeFailedPrecondition, "%s"},
	reasonSecretNotFound:  {"SECRET_NOT_FOUND", connect.CodeNotFound, "app %q has no secret %q (see `kumo secret list %s`)"},
	reasonNoSecrets:       {"SECRETS_UNAVAILABLE", connect.CodeFailedPrecondition, "this node has no secrets key: copy secrets.key from another node of the cluster into its data directory and restart it"},
	reasonBindingNotFound: {"BINDING_NOT_FOUND", connect.CodeNotFound, "app %q has no KV binding %q in its active version; %s"},
	reasonInternal:        {"INTERNAL", connect.CodeInternal, "%s: %v"},
}

// fail builds the error of reason r, formatting its message with args.
func fail(r reason, args ...any) *connect.Error {
	def := errorTable[r]
	err := connect.NewError(def.code, fmt.Errorf(def.format, args...))
	if d, derr := connect.NewErrorDetail(&kumov1.ErrorDetail{Reason: def.id}); derr == nil {
		err.AddDetail(d)
	}
	return err
}

// internal reports an unexpected failure (usually the store's) while doing
// what, e.g. internal("reading app hello", err).
func internal(what string, err error) *connect.Error {
	return fail(reasonInternal, what, err)
}

// Reason returns the stable reason id of an error returned by the service
// (through a client or not), or "" when it carries none.
func Reason(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if ed, ok := v.(*kumov1.ErrorDetail); ok {
			return ed.GetReason()
		}
	}
	return ""
}

package control

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/store"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

// Tokens are "kumo_" followed by 32 random bytes in base64url. Only their
// SHA-256 is stored, as the key tokens.<hex>; the record says whether the
// token is an admin token (app "") or scoped to one app.

// tokenPrefix marks Kumo tokens so secret scanners and people recognise them.
const tokenPrefix = "kumo_"

// minHashPrefix is the shortest hash prefix RevokeToken accepts.
const minHashPrefix = 6

// newToken returns a fresh random token.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating token: %w", err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// principal is the authenticated caller of one request.
type principal struct {
	hash string
	rec  app.TokenRecord
}

type principalKey struct{}

func caller(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// authInterceptor authenticates every call before the method runs: a
// missing, malformed, unknown or revoked token stops it with 401.
type authInterceptor struct{ svc *Service }

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		p, err := a.svc.authenticate(ctx, req.Header())
		if err != nil {
			return nil, err
		}
		return next(context.WithValue(ctx, principalKey{}, p), req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		p, err := a.svc.authenticate(ctx, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(context.WithValue(ctx, principalKey{}, p), conn)
	}
}

// authenticate looks the bearer token of h up in the store.
func (s *Service) authenticate(ctx context.Context, h http.Header) (principal, error) {
	auth := h.Get("Authorization")
	if auth == "" {
		return principal{}, fail(reasonNoToken)
	}
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return principal{}, fail(reasonBadToken)
	}
	hash := app.TokenHash(token)
	data, _, err := s.st.Get(ctx, app.TokenKey(hash))
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, fail(reasonBadToken)
	}
	if err != nil {
		return principal{}, internal("checking token", err)
	}
	var rec app.TokenRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return principal{}, internal("reading token record", err)
	}
	return principal{hash: hash, rec: rec}, nil
}

// allow checks that the caller may act on appName.
func allow(ctx context.Context, appName string) error {
	p := caller(ctx)
	if p.rec.App == "" || p.rec.App == appName {
		return nil
	}
	return fail(reasonOutOfScope, p.rec.Name, p.rec.App, appName)
}

// adminOnly checks that the caller holds an admin token.
func adminOnly(ctx context.Context, what string) error {
	p := caller(ctx)
	if p.rec.App == "" {
		return nil
	}
	return fail(reasonAdminOnly, what, p.rec.Name, p.rec.App)
}

// EnsureAdminToken makes sure an admin token exists and is written to path
// (mode 0600): when path holds a token whose hash is a known admin token it
// is kept; otherwise a new random token is created, only its hash stored,
// and the file (re)written. It returns the token and whether it is new.
func EnsureAdminToken(ctx context.Context, st *store.Store, path string) (token string, created bool, err error) {
	if data, err := os.ReadFile(path); err == nil {
		token = strings.TrimSpace(string(data))
		if token != "" {
			v, _, gerr := st.Get(ctx, app.TokenKey(app.TokenHash(token)))
			var rec app.TokenRecord
			switch {
			case gerr == nil && json.Unmarshal(v, &rec) == nil && rec.App == "":
				// Tighten a mode loosened by hand; the token is a secret.
				if err := os.Chmod(path, 0o600); err != nil {
					return "", false, fmt.Errorf("securing admin token file %s: %w", path, err)
				}
				return token, false, nil
			case gerr != nil && !errors.Is(gerr, store.ErrNotFound):
				return "", false, fmt.Errorf("checking admin token: %w", gerr)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("reading admin token file: %w", err)
	}

	token, err = newToken()
	if err != nil {
		return "", false, err
	}
	hash := app.TokenHash(token)
	names, err := tokenNames(ctx, st)
	if err != nil {
		return "", false, err
	}
	name := "admin"
	if names[name] {
		name = "admin-" + hash[:8]
	}
	rec, _ := json.Marshal(app.TokenRecord{Name: name, Created: time.Now().UTC()})
	if _, err := st.Create(ctx, app.TokenKey(hash), rec); err != nil {
		return "", false, fmt.Errorf("storing admin token: %w", err)
	}
	if err := writeSecret(path, []byte(token+"\n")); err != nil {
		return "", false, fmt.Errorf("writing admin token: %w", err)
	}
	return token, true, nil
}

// writeSecret writes data to path with mode 0600 atomically: a reader sees
// the old file or the new one, and the secret is never world-readable.
func writeSecret(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".admin-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// loadTokens returns every token record by hash.
func loadTokens(ctx context.Context, st *store.Store) (map[string]app.TokenRecord, error) {
	vals, err := scan(ctx, st, app.TokensPrefix+".*")
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	out := make(map[string]app.TokenRecord, len(vals))
	for key, v := range vals {
		var rec app.TokenRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, fmt.Errorf("reading token %s: %w", key, err)
		}
		out[strings.TrimPrefix(key, app.TokensPrefix+".")] = rec
	}
	return out, nil
}

func tokenNames(ctx context.Context, st *store.Store) (map[string]bool, error) {
	toks, err := loadTokens(ctx, st)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(toks))
	for _, rec := range toks {
		names[rec.Name] = true
	}
	return names, nil
}

func validTokenName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func tokenInfo(hash string, rec app.TokenRecord) *kumov1.TokenInfo {
	return &kumov1.TokenInfo{Name: rec.Name, App: rec.App, Created: timestamppb.New(rec.Created), HashPrefix: hash[:12]}
}

// CreateToken creates an admin or app-scoped token.
func (s *Service) CreateToken(ctx context.Context, req *connect.Request[kumov1.CreateTokenRequest]) (*connect.Response[kumov1.CreateTokenResponse], error) {
	if err := adminOnly(ctx, "creating tokens"); err != nil {
		return nil, err
	}
	name, appName := req.Msg.GetName(), req.Msg.GetApp()
	if appName != "" {
		if err := app.ValidName(appName); err != nil {
			return nil, fail(reasonBadName, err)
		}
	}
	if name != "" && !validTokenName(name) {
		return nil, fail(reasonBadRequest, fmt.Sprintf("token name %q: use 1 to 64 of A-Z a-z 0-9 - _ .", name))
	}
	token, err := newToken()
	if err != nil {
		return nil, internal("creating token", err)
	}
	hash := app.TokenHash(token)
	names, err := tokenNames(ctx, s.st)
	if err != nil {
		return nil, internal("creating token", err)
	}
	if name == "" {
		name = cmp.Or(appName, "admin") + "-" + hash[:6]
	}
	// Names are unique so revocation by name is unambiguous. Two concurrent
	// creations of one name can both pass this check; RevokeToken then
	// reports the ambiguity and takes a hash prefix instead.
	if names[name] {
		return nil, fail(reasonTokenNameTaken, name)
	}
	rec := app.TokenRecord{Name: name, App: appName, Created: time.Now().UTC()}
	data, _ := json.Marshal(rec)
	if _, err := s.st.Create(ctx, app.TokenKey(hash), data); err != nil {
		return nil, internal("storing token", err)
	}
	s.log.Info("token created", "name", name, "app", appName, "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.CreateTokenResponse{Token: token, Info: tokenInfo(hash, rec)}), nil
}

// ListTokens lists every token's name, scope and hash prefix.
func (s *Service) ListTokens(ctx context.Context, req *connect.Request[kumov1.ListTokensRequest]) (*connect.Response[kumov1.ListTokensResponse], error) {
	if err := adminOnly(ctx, "listing tokens"); err != nil {
		return nil, err
	}
	toks, err := loadTokens(ctx, s.st)
	if err != nil {
		return nil, internal("listing tokens", err)
	}
	out := &kumov1.ListTokensResponse{}
	for hash, rec := range toks {
		out.Tokens = append(out.Tokens, tokenInfo(hash, rec))
	}
	sort.Slice(out.Tokens, func(i, j int) bool {
		a, b := out.Tokens[i], out.Tokens[j]
		if !a.Created.AsTime().Equal(b.Created.AsTime()) {
			return a.Created.AsTime().Before(b.Created.AsTime())
		}
		return a.Name < b.Name
	})
	return connect.NewResponse(out), nil
}

// RevokeToken deletes the token with the given name, or whose hash starts
// with the given hex prefix.
func (s *Service) RevokeToken(ctx context.Context, req *connect.Request[kumov1.RevokeTokenRequest]) (*connect.Response[kumov1.RevokeTokenResponse], error) {
	if err := adminOnly(ctx, "revoking tokens"); err != nil {
		return nil, err
	}
	q := strings.TrimSpace(req.Msg.GetToken())
	if q == "" {
		return nil, fail(reasonBadRequest, "token: give a token name or hash prefix")
	}
	toks, err := loadTokens(ctx, s.st)
	if err != nil {
		return nil, internal("revoking token", err)
	}
	var byName, byHash []string
	for hash, rec := range toks {
		if rec.Name == q {
			byName = append(byName, hash)
		}
		if len(q) >= minHashPrefix && isHex(q) && strings.HasPrefix(hash, strings.ToLower(q)) {
			byHash = append(byHash, hash)
		}
	}
	matches := byName
	if len(matches) == 0 {
		matches = byHash
	}
	switch len(matches) {
	case 0:
		return nil, fail(reasonTokenNotFound, q, q)
	case 1:
	default:
		sort.Strings(matches)
		for i := range matches {
			matches[i] = matches[i][:12]
		}
		return nil, fail(reasonAmbiguous, "token", q, "tokens with hashes "+strings.Join(matches, ", "))
	}
	hash := matches[0]
	if err := s.st.Delete(ctx, app.TokenKey(hash)); err != nil {
		return nil, internal("revoking token", err)
	}
	s.log.Info("token revoked", "name", toks[hash].Name, "app", toks[hash].App, "by", caller(ctx).rec.Name)
	return connect.NewResponse(&kumov1.RevokeTokenResponse{Revoked: tokenInfo(hash, toks[hash])}), nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2))
	return err == nil
}

var _ connect.Interceptor = (*authInterceptor)(nil)

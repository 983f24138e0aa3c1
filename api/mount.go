package api

import (
	"html/template"
	"io/fs"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// The JSON API is this package's own application; other applications of
// the same service (the workspace, in api/app) mount themselves on the
// server with what follows, and reach the store, the configuration and
// the operations they share with the JSON API through its exported
// methods.

// Echo returns the echo instance, for an application to add its routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// DB returns the store.
func (s *Server) DB() store.Store { return s.db }

// Keys returns the directory of signing keys.
func (s *Server) Keys() store.Keys { return s.keys }

// Config returns the server's configuration, with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Now returns the current time (a test may set the clock).
func (s *Server) Now() time.Time { return s.now() }

// ErrorPage adds a renderer of error pages: for each failed request, it
// may answer the problem itself (returning true), for example with a page
// of its own for its paths.
func (s *Server) ErrorPage(f func(c echo.Context, p *Problem) (handled bool)) {
	s.errorPages = append(s.errorPages, f)
}

// OwnBodyLimit exempts the requests f picks from the server-wide body
// limit; the handler must bound what it reads itself.
func (s *Server) OwnBodyLimit(f func(c echo.Context) bool) {
	s.ownBodyLimit = append(s.ownBodyLimit, f)
}

// NoCompress keeps the answers to the requests f picks uncompressed (files
// a client downloads as they are).
func (s *Server) NoCompress(f func(c echo.Context) bool) { s.noCompress = append(s.noCompress, f) }

func (s *Server) any(fs []func(echo.Context) bool, c echo.Context) bool {
	for _, f := range fs {
		if f(c) {
			return true
		}
	}
	return false
}

// WithCaller makes a request act with the given identity, as an API key
// does: a signed-in workspace user acts through the same operations.
func WithCaller(c echo.Context, k *store.APIKey) { c.Set(ctxKey, k) }

// Caller returns the identity a request acts with.
func Caller(c echo.Context) *store.APIKey { return caller(c) }

// VerifiedHistory returns a batch's history, verified (from the cache
// when its state has not changed).
func (s *Server) VerifiedHistory(bt *trace.Batch) (*History, error) {
	ch, err := s.cachedHistory(bt)
	if err != nil {
		return nil, err
	}
	return ch.h, nil
}

// Catalogs returns the message catalogue of each language, and the
// template functions the pages use (t, stars, …).
func (s *Server) Catalogs() (map[string]*Catalog, template.FuncMap) {
	return s.pages.catalogs, s.pages.funcs
}

// Assets returns the static files and their version (for cache busting).
func (s *Server) Assets() (fs.FS, string) { return s.pages.static, s.pages.version }

// WitnessPolicy returns the log's witness policy, or nil.
func (s *Server) WitnessPolicy() *tlog.Policy { return s.logInfo().policy }

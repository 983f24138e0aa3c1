package api

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/static"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3.1 description of the API.
func OpenAPISpec() []byte { return openAPISpec }

// Config holds what the API needs to know about its deployment.
type Config struct {
	// PublicURL is the base URL labels and links are built on, e.g.
	// https://trace.example.vn (no trailing slash).
	PublicURL string
	// BodyLimit is the largest request body accepted, in bytes (default 1 MiB).
	BodyLimit int64
	// RequestTimeout bounds the handling of one request (default 30s).
	RequestTimeout time.Duration
	// Location is the time zone for default event times (default UTC+7).
	Location *time.Location
	// Static holds the web assets (templates, CSS, scripts, catalogues);
	// default static.FS.
	Static fs.FS
	// SheetLayouts and RollLayouts are custom label layouts from the
	// configuration, beside the presets.
	SheetLayouts []label.SheetLayout
	RollLayouts  []label.RollLayout
	// LabelErrorCorrection is the QR error correction level (default M).
	LabelErrorCorrection label.ECLevel
	// Log identifies the transparency log to pages and clients.
	Log LogInfo
	// AttachmentLimit is the largest attachment (photo or certificate
	// scan) accepted by POST /api/v1/attachments, in bytes (default
	// DefaultAttachmentLimit, 10 MiB). That route has this limit (plus
	// room for multipart headers) instead of BodyLimit.
	AttachmentLimit int64
	// AttachmentMaxPixels bounds an uploaded image's width × height
	// (default DefaultAttachmentMaxPixels, 50 megapixels).
	AttachmentMaxPixels int64
	// TrustedProxyHeader is the header that names the client's address
	// when a request comes through a reverse proxy: X-Forwarded-For or
	// X-Real-IP. It is believed only from TrustedProxies. Empty (the
	// default) uses the connection's address. Sign-in throttling and the
	// request log use the client's address.
	TrustedProxyHeader string
	// TrustedProxies are the addresses of the reverse proxies whose
	// TrustedProxyHeader is believed.
	TrustedProxies []netip.Prefix
}

// LogInfo is the public identity of the transparency log.
type LogInfo struct {
	Origin        string // checkpoint origin and key name, e.g. trace.example.vn/log
	Ed25519Key    string // C2SP vkey of the log's Ed25519 key (signature type 0x01)
	MLDSAKey      string // C2SP vkey of the log's ML-DSA-44 key (signature type 0x06)
	WitnessPolicy string // C2SP tlog-policy text; empty when no witnesses are configured
}

// Server serves the API over a store.
type Server struct {
	cfg     Config
	db      store.Store
	keys    store.Keys
	log     *slog.Logger
	echo    *echo.Echo
	metrics *metrics
	pages   *pages
	// profileTmpl is the cooperative's public profile page (profile.go).
	profileTmpl *template.Template
	cache       historyCache
	lots        sync.Map // gtin14 "/" lot → batch id
	links       linkCache
	now         func() time.Time

	logState logState
	attach   attachState
	idem     keyedLocks
	backupMu sync.Mutex // one backup at a time
	scanMu   sync.Mutex
	scans    scanCounter

	// What the applications mounted beside the JSON API (the workspace)
	// add: error pages for their paths, requests that keep their own
	// body limit or are not compressed.
	errorPages   []func(c echo.Context, p *Problem) (handled bool)
	ownBodyLimit []func(c echo.Context) bool
	noCompress   []func(c echo.Context) bool
}

// New builds the server and its routes.
func New(cfg Config, db store.Store, keys store.Keys, logger *slog.Logger) *Server {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("ICT", 7*3600)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Static == nil {
		cfg.Static = static.FS
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg, db: db, keys: keys, log: logger, now: time.Now}
	s.metrics = newMetrics(db)
	pages, err := newPages(cfg.Static)
	if err != nil {
		// The assets are embedded and tested: a failure here is a build defect.
		panic(fmt.Sprintf("api: web assets: %v", err))
	}
	s.pages = pages
	if s.profileTmpl, err = newProfileTemplate(pages); err != nil {
		panic(fmt.Sprintf("api: profile page template: %v", err))
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	var known bool
	e.IPExtractor, known = clientIPExtractor(cfg.TrustedProxyHeader, cfg.TrustedProxies)
	if !known {
		logger.Error("unknown trusted proxy header; using the connection's address", "header", cfg.TrustedProxyHeader)
	}
	e.HTTPErrorHandler = s.handleError
	s.echo = e
	s.routes()
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// routes registers every route of the service.
func (s *Server) routes() {
	e := s.echo
	e.Pre(trimTrailingSlash)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}),
		s.requestLogger(),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				s.log.Error("panic", "error", err, "request_id", RequestID(c), "stack", string(stack))
				return err
			},
		}),
		s.metrics.middleware,
		securityHeaders,
		middleware.CORSWithConfig(middleware.CORSConfig{
			// Requests without an Origin are not CORS requests: an OPTIONS
			// among them reaches the routes' own answer.
			Skipper:       func(c echo.Context) bool { return c.Request().Header.Get(echo.HeaderOrigin) == "" },
			AllowOrigins:  []string{"*"},
			AllowHeaders:  []string{echo.HeaderAccept, "Accept-Language", echo.HeaderContentType, echo.HeaderAuthorization},
			ExposeHeaders: []string{echo.HeaderLocation, echo.HeaderXRequestID, "Link"},
		}),
		// A short answer (a 201 of one event, about 1 KB) is not worth
		// compressing; what is, is compressed at the fastest level, whose
		// writer is reused without clearing its tables (compress.go).
		newGzipAnswers(gzip.BestSpeed, 4<<10, func(c echo.Context) bool {
			return c.Path() == "/metrics" || isBackup(c) || isAttachmentDownload(c) || servesHistory(c) || c.Path() == "/api/v1/batches/:id/labels" || s.any(s.noCompress, c)
		}).middleware,
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
			Limit: fmt.Sprintf("%dB", s.cfg.BodyLimit), Skipper: func(c echo.Context) bool { return isAttachmentUpload(c) || s.any(s.ownBodyLimit, c) },
		}),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: s.cfg.RequestTimeout,
			// A backup takes as long as its size needs (see backup); a read
			// is bounded by the HTTP server's own timeouts, without a timer
			// of its own.
			Skipper: func(c echo.Context) bool {
				m := c.Request().Method
				return isBackup(c) || m == http.MethodGet || m == http.MethodHead
			}}),
	)

	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))

	// Public resolver paths: GS1 Digital Link and the short form, and the
	// consumer page's assets.
	// Every GS1 primary key is claimed, so a malformed link of any kind
	// is answered 400 and a valid one truyxuat does not keep 404.
	resolver := []string{http.MethodGet, http.MethodHead}
	for _, key := range trace.DigitalLinkKeys() {
		e.Match(resolver, "/"+key+"/*", s.resolveDigitalLink)
		e.OPTIONS("/"+key+"/*", allowGetHead)
	}
	e.Match(resolver, shortLinkRoute, s.resolveShortLink)
	e.OPTIONS(shortLinkRoute, allowGetHead)
	e.GET("/.well-known/gs1resolver", s.gs1Resolver)
	e.Match(resolver, "/static/*", s.serveStatic)
	e.Match(resolver, AttachmentPath+":sha256", s.getAttachment)

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.yaml", s.openapi)
	v1.GET("/cooperatives", s.listCooperatives)
	v1.GET("/cooperatives/:id", s.getCooperative)
	v1.GET("/cooperatives/:id/records", s.listRecords(trace.KindCooperative))
	v1.GET("/products/:id", s.getProduct)
	v1.GET("/products/:id/records", s.listRecords(trace.KindProduct))
	v1.GET("/batches", s.listBatches)
	v1.GET("/batches/:id", s.getBatch)
	v1.GET("/events/:hash", s.getEvent)
	v1.POST("/verify", s.verifyHistory)
	s.logRoutes()

	admin := v1.Group("", s.authenticate(store.RoleAdmin))
	admin.POST("/cooperatives", s.createCooperative)
	admin.GET("/admin/backup", s.backup)

	coop := v1.Group("", s.authenticate(store.RoleCooperative, store.RoleAdmin))
	coop.POST("/products", s.createProduct)
	coop.PUT("/products/:id", s.updateProduct)
	coop.PUT("/cooperatives/:id", s.updateCooperative)
	coop.POST("/batches/:id/facts", s.restateFacts)
	coop.POST("/batches", s.createBatch)
	coop.POST("/batches/:id/events", s.appendEvent)
	s.epcisRoutes(v1, coop)
	coop.GET("/batches/:id/labels", s.Labels)
	inspectors := v1.Group("", s.authenticate(store.RoleInspector, store.RoleAdmin, store.RoleCooperative))
	s.workflowRoutes(v1, coop, inspectors)
	s.roleRoutes(v1, admin, coop, inspectors)
	inspectors.GET("/batches/:id/scans", s.getScans)
	s.registryRoutes(v1, coop)
	// Inspectors attach lab reports and photos to their inspections.
	inspectors.POST("/attachments", s.uploadAttachment, middleware.BodyLimit(s.attachmentBodyLimit()))
}

func (s *Server) healthz(c echo.Context) error {
	if _, _, err := s.db.Head("-"); err != nil && !errors.Is(err, trace.ErrNotFound) {
		return err
	}
	// A read-only service is alive but cannot do its work: monitors
	// should page its operator.
	if ro := s.db.ReadOnly(); ro != nil {
		return ro
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPISpec)
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func RequestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// requestLogger writes one structured line per request that changes
// something or fails; successful reads (a scan, a tile, an asset: most of
// the traffic, which /metrics counts) are logged only at debug level, and
// cost nothing when that level is off. It answers the request's error
// itself (c.Error), so that the status it logs is the one sent.
func (s *Server) requestLogger() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			level := slog.LevelInfo
			switch {
			case res.Status >= 500:
				level = slog.LevelError
			case res.Status >= 400:
				level = slog.LevelWarn
			case req.Method == http.MethodGet || req.Method == http.MethodHead:
				level = slog.LevelDebug
			}
			ctx := req.Context()
			if !s.log.Enabled(ctx, level) {
				return nil
			}
			s.log.LogAttrs(ctx, level, "request",
				slog.String("method", req.Method), slog.String("path", req.URL.Path),
				slog.Int("status", res.Status), slog.Duration("latency", time.Since(start)),
				slog.String("request_id", RequestID(c)), slog.String("remote_ip", c.RealIP()),
				slog.Int64("bytes", res.Size))
			return nil
		}
	}
}

// Shutdown stops the server's echo instance (used when it owns a listener).
func (s *Server) Shutdown(ctx context.Context) error { return s.echo.Shutdown(ctx) }

// metrics are the service's Prometheus collectors.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(db store.Store) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "truyxuat_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "truyxuat_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"route"})
	appends := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "truyxuat_store_events_appended_total", Help: "Events durably appended.",
	}, func() float64 { return float64(db.Stats().Appends) })
	commits := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "truyxuat_store_commits_total", Help: "Group-commit transactions synced to disk.",
	}, func() float64 { return float64(db.Stats().Commits) })
	rejected := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "truyxuat_store_appends_rejected_total", Help: "Append requests refused.",
	}, func() float64 { return float64(db.Stats().Rejected) })
	m.registry.MustRegister(m.requests, m.latency, appends, commits, rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		if err != nil {
			var he *echo.HTTPError
			if errors.As(err, &he) {
				status = he.Code
			} else {
				status = statusOf(err)
			}
		}
		m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return err
	}
}

// shortLinkRoute takes every path under /b/, so that a short link with a
// trailing slash reaches its handler and is answered 400.
const shortLinkRoute = trace.BatchLinkPrefix + "*"

// isResolverPath reports whether an escaped path is a Digital Link or a
// short link: it starts with /b/ or with a GS1 primary key.
func isResolverPath(escaped string) bool {
	if strings.HasPrefix(escaped, trace.BatchLinkPrefix) {
		return true
	}
	first, _, ok := strings.Cut(strings.TrimPrefix(escaped, "/"), "/")
	return ok && resolverKeys[first]
}

var resolverKeys = func() map[string]bool {
	m := make(map[string]bool)
	for _, k := range trace.DigitalLinkKeys() {
		m[k] = true
	}
	return m
}()

// trimTrailingSlash drops one trailing '/' from a request path, so that
// /api/v1/batches/ is /api/v1/batches. It works on the escaped path and
// decodes the result, so percent-encoded data (a %2F in a lot code) is
// never turned into a '/' or lost. / and /app/ keep their slash; resolver
// paths keep theirs too: a Digital Link or short link ending in '/' is
// malformed, and its handler answers 400.
func trimTrailingSlash(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		raw := r.URL.EscapedPath()
		if len(raw) <= 1 || !strings.HasSuffix(raw, "/") || raw == "/app/" || isResolverPath(raw) {
			return next(c)
		}
		raw = raw[:len(raw)-1]
		decoded, err := url.PathUnescape(raw)
		if err != nil {
			return next(c) // EscapedPath is well-formed; leave it to the router
		}
		r.URL.Path, r.URL.RawPath = decoded, raw
		if (&url.URL{Path: decoded}).EscapedPath() == raw {
			r.URL.RawPath = ""
		}
		r.RequestURI = r.URL.RequestURI()
		return next(c)
	}
}

// allowGetHead answers OPTIONS on the resolver paths.
func allowGetHead(c echo.Context) error {
	c.Response().Header().Set("Allow", "GET, HEAD, OPTIONS")
	return c.NoContent(http.StatusNoContent)
}

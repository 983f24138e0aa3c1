package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestGzipAnswers checks which answers are compressed, that every one
// arrives whole with the right headers, and that no gzip writer is taken
// for an answer too short to compress.
func TestGzipAnswers(t *testing.T) {
	long := strings.Repeat(`{"biz_step":"storing","note":"kiểm tra kho"},`, 400) // 18 KB
	short := `{"seq":3,"hash":"ab"}`
	e := echo.New()
	var taken atomic.Int64
	z := newGzipAnswers(gzip.BestSpeed, 4<<10, func(c echo.Context) bool { return c.Path() == "/skipped" })
	newWriter := z.writers.New
	z.writers.New = func() any { taken.Add(1); return newWriter() }
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		// As requestLogger does: the error is answered outside the
		// compression middleware.
		return func(c echo.Context) error {
			if err := next(c); err != nil {
				c.Error(err)
			}
			return nil
		}
	})
	e.Use(z.middleware)
	e.GET("/short", func(c echo.Context) error { return c.String(http.StatusCreated, short) })
	e.GET("/long", func(c echo.Context) error { return c.String(http.StatusOK, long) })
	e.GET("/pieces", func(c echo.Context) error {
		// Written in pieces that cross the threshold one after another.
		c.Response().Header().Set(echo.HeaderContentType, "application/json")
		c.Response().WriteHeader(http.StatusAccepted)
		for i := 0; i < len(long); i += 1000 {
			c.Response().Write([]byte(long[i:min(i+1000, len(long))]))
		}
		return nil
	})
	e.GET("/flushed", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, "text/plain")
		c.Response().Write([]byte(short))
		c.Response().Flush()
		c.Response().Write([]byte(short))
		return nil
	})
	e.GET("/none", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/fails", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "the lot changed") })
	e.GET("/skipped", func(c echo.Context) error { return c.String(http.StatusOK, long) })

	for _, tc := range []struct {
		path, acceptEncoding string
		code                 int
		gzipped              bool
		body                 string
	}{
		{"/short", "gzip", http.StatusCreated, false, short},
		{"/short", "", http.StatusCreated, false, short},
		{"/long", "gzip, deflate", http.StatusOK, true, long},
		{"/long", "", http.StatusOK, false, long},
		{"/pieces", "gzip", http.StatusAccepted, true, long},
		{"/flushed", "gzip", http.StatusOK, true, short + short},
		{"/none", "gzip", http.StatusNoContent, false, ""},
		{"/fails", "gzip", http.StatusConflict, false, `{"message":"the lot changed"}` + "\n"},
		{"/skipped", "gzip", http.StatusOK, false, long},
	} {
		taken.Store(0)
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", tc.acceptEncoding)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		res := rec.Result()
		body := rec.Body.Bytes()
		if gz := res.Header.Get("Content-Encoding") == "gzip"; gz != tc.gzipped {
			t.Errorf("%s (Accept-Encoding %q): Content-Encoding %q", tc.path, tc.acceptEncoding, res.Header.Get("Content-Encoding"))
			continue
		}
		if tc.gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", tc.path, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", tc.path, err)
			}
		} else if taken.Load() != 0 {
			t.Errorf("%s (Accept-Encoding %q): a gzip writer was taken for an answer sent as it is", tc.path, tc.acceptEncoding)
		}
		if res.StatusCode != tc.code || string(body) != tc.body {
			t.Errorf("%s (Accept-Encoding %q): %d with %d bytes, want %d with %d", tc.path, tc.acceptEncoding, res.StatusCode, len(body), tc.code, len(tc.body))
		}
		if want := tc.path != "/skipped"; want != (res.Header.Get("Vary") == "Accept-Encoding") {
			t.Errorf("%s: Vary %q", tc.path, res.Header.Get("Vary"))
		}
		if cl := res.Header.Get("Content-Length"); tc.gzipped && cl != "" || tc.path == "/short" && tc.acceptEncoding != "" && cl != strconv.Itoa(len(short)) {
			t.Errorf("%s (Accept-Encoding %q): Content-Length %q", tc.path, tc.acceptEncoding, cl)
		}
	}
}

// TestGzipAnswersBrokenConnection checks that a failed write is reported
// to the handler, not lost.
func TestGzipAnswersBrokenConnection(t *testing.T) {
	z := newGzipAnswers(gzip.BestSpeed, 16, func(echo.Context) bool { return false })
	w := &gzipWriter{z: z, rw: failingWriter{httptest.NewRecorder()}}
	_, err := w.Write([]byte(strings.Repeat("x", 64)))
	if err == nil && w.gz != nil {
		// gzip may hold a write back: then the failure shows at its end.
		err = w.gz.Close()
	}
	if err == nil {
		t.Error("a write on a broken connection reported no error")
	}
}

type failingWriter struct{ *httptest.ResponseRecorder }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

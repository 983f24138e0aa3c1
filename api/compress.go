package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// gzipAnswers compresses the answers of requests that accept gzip once
// an answer reaches minLength bytes; a shorter one (the 201 of an append,
// about 1 KB) is sent as it is, with its Content-Length. A gzip writer is
// taken from the pool only when an answer is compressed: each holds close
// to 1 MB of tables, and taken for every request that accepts gzip, as
// echo's middleware does, 64 clients appending kept 64 of them alive
// (most of the service's live heap, so the collector ran more often) and
// each answer paid for resetting and closing one it never used.
// Every answer that could have been compressed says Vary: Accept-Encoding.
type gzipAnswers struct {
	level, minLength int
	skip             func(echo.Context) bool
	writers          sync.Pool // *gzip.Writer
	buffers          sync.Pool // *[]byte with room for minLength bytes
}

func newGzipAnswers(level, minLength int, skip func(echo.Context) bool) *gzipAnswers {
	z := &gzipAnswers{level: level, minLength: minLength, skip: skip}
	z.writers.New = func() any {
		w, err := gzip.NewWriterLevel(io.Discard, level)
		if err != nil {
			panic(err) // the level is a constant of ours
		}
		return w
	}
	z.buffers.New = func() any {
		b := make([]byte, 0, minLength)
		return &b
	}
	return z
}

func (z *gzipAnswers) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if z.skip(c) {
			return next(c)
		}
		res := c.Response()
		res.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		if !strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
			return next(c)
		}
		w := &gzipWriter{z: z, rw: res.Writer}
		res.Writer = w
		defer func() {
			// What the handler left unsent is sent now; an error the
			// handler returned without answering is then answered
			// (c.Error, further out) on the connection's own writer.
			res.Writer = w.rw
			w.finish()
		}()
		return next(c)
	}
}

// gzipWriter holds back an answer's status and first bytes until it
// knows whether the answer is long enough to compress.
type gzipWriter struct {
	z    *gzipAnswers
	rw   http.ResponseWriter
	code int          // the status, once set
	buf  *[]byte      // the first bytes, until compressing
	gz   *gzip.Writer // once compressing
	err  error        // once starting to compress failed
}

func (w *gzipWriter) Header() http.Header { return w.rw.Header() }

func (w *gzipWriter) WriteHeader(code int) {
	if w.code == 0 && w.gz == nil {
		w.code = code
	}
}

func (w *gzipWriter) Write(b []byte) (int, error) {
	if w.gz == nil {
		if w.err != nil {
			return 0, w.err
		}
		if h := w.rw.Header(); w.buf == nil && h.Get(echo.HeaderContentType) == "" {
			h.Set(echo.HeaderContentType, http.DetectContentType(b))
		}
		if w.held()+len(b) < w.z.minLength {
			if w.buf == nil {
				w.buf = w.z.buffers.Get().(*[]byte)
			}
			*w.buf = append(*w.buf, b...)
			return len(b), nil
		}
		if w.err = w.compress(); w.err != nil {
			return 0, w.err
		}
	}
	return w.gz.Write(b)
}

// held is the number of bytes held back.
func (w *gzipWriter) held() int {
	if w.buf == nil {
		return 0
	}
	return len(*w.buf)
}

// compress sends the status with Content-Encoding: gzip and the bytes held
// so far through a gzip writer, which takes every later write.
func (w *gzipWriter) compress() error {
	h := w.rw.Header()
	h.Set(echo.HeaderContentEncoding, "gzip")
	h.Del(echo.HeaderContentLength)
	w.rw.WriteHeader(w.status())
	w.gz = w.z.writers.Get().(*gzip.Writer)
	w.gz.Reset(w.rw)
	if w.buf == nil {
		return nil
	}
	_, err := w.gz.Write(*w.buf)
	w.putBuffer()
	return err
}

func (w *gzipWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// finish sends what is held back, or ends the compressed stream.
func (w *gzipWriter) finish() {
	switch {
	case w.gz != nil:
		w.gz.Close()
		w.gz.Reset(io.Discard)
		w.z.writers.Put(w.gz)
		w.gz = nil
	case w.buf != nil:
		if code := w.status(); code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified {
			w.rw.Header()[echo.HeaderContentLength] = []string{strconv.Itoa(len(*w.buf))}
		}
		w.rw.WriteHeader(w.status())
		w.rw.Write(*w.buf)
		w.putBuffer()
	case w.code != 0:
		w.rw.WriteHeader(w.code)
	}
}

func (w *gzipWriter) putBuffer() {
	*w.buf = (*w.buf)[:0]
	w.z.buffers.Put(w.buf)
	w.buf = nil
}

// Flush sends what is held back, compressed: an answer that is flushed
// is streamed, and its length is not known.
func (w *gzipWriter) Flush() {
	if w.gz == nil {
		if w.err = w.compress(); w.err != nil {
			return
		}
	}
	w.gz.Flush()
	http.NewResponseController(w.rw).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.rw }

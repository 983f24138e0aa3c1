package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

const ctxKey = "truyxuat.apikey"

// authenticate requires a live API key with one of the given roles.
func (s *Server) authenticate(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			secret, err := bearerToken(h)
			if err != nil {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="truyxuat"`)
				return fmt.Errorf("%v; send your API key as Authorization: Bearer txk_…: %w", err, trace.ErrUnauthenticated)
			}
			k, err := s.db.Authenticate(secret)
			if err != nil {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="truyxuat", error="invalid_token"`)
				return err
			}
			for _, r := range roles {
				if k.Role == r {
					c.Set(ctxKey, k)
					return next(c)
				}
			}
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("a %s key may not do this", k.Role))
		}
	}
}

// bearerToken reads Bearer credentials from an Authorization header: the
// scheme in any letter case, one or more spaces, then a token68 (RFC 9110
// §11.4, §11.6.2; RFC 6750 §2.1).
func bearerToken(h string) (string, error) {
	if h == "" {
		return "", errors.New("no Authorization header")
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("the Authorization header's scheme is %q, not Bearer", Clip(scheme, 20))
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", errors.New("the Authorization header has no token after Bearer")
	}
	if !isToken68(token) {
		return "", errors.New("the token after Bearer has characters a token may not have (letters, digits and - . _ ~ + / then = only)")
	}
	return token, nil
}

// isToken68 reports whether s is an RFC 9110 token68:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

func caller(c echo.Context) *store.APIKey {
	k, _ := c.Get(ctxKey).(*store.APIKey)
	return k
}

// mayWrite reports whether the caller may write for a cooperative.
func mayWrite(c echo.Context, cooperativeID string) error {
	k := caller(c)
	if k == nil {
		return trace.ErrUnauthenticated
	}
	if k.Role == store.RoleAdmin || k.Role == store.RoleCooperative && k.CooperativeID == cooperativeID {
		return nil
	}
	return fmt.Errorf("this key writes for cooperative %s only, not %s: %w", k.CooperativeID, cooperativeID, trace.ErrForbidden)
}

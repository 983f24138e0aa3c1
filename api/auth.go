package api

import (
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
			secret, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || secret == "" {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="truyxuat"`)
				return fmt.Errorf("send your API key as Authorization: Bearer txk_…: %w", trace.ErrUnauthenticated)
			}
			k, err := s.db.Authenticate(strings.TrimSpace(secret))
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

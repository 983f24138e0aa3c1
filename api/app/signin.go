package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Sign-in throttling. Password guessing at /app/login is slowed down
// without letting anyone lock someone else out. Failures are counted in
// buckets; each bucket lets some failures through, then makes every
// further attempt wait, from 30 seconds doubling up to 15 minutes, and is
// forgotten a day after its last failure.
//
//   - The account's bucket ("u:" username) lets 5 failures through. A
//     browser that has signed in to that account before carries a signed
//     device cookie for it and is neither counted there nor held back by
//     it: whoever guesses at the owner's password cannot lock the owner
//     out of the browsers the owner uses.
//   - That browser counts its failures in its own device bucket ("d:"
//     cookie id, 5 through), so a copied cookie does not give unthrottled
//     guessing, and the cookie works for its one account only.
//   - The client address's bucket ("ip:" address) counts the failures of
//     browsers without a device cookie for the account they try, for
//     every username, real or made up: it bounds password spraying from
//     one place. It lets 100 failures through — twenty times an account's
//     — because many people may share one address (an office, a mobile
//     network's NAT, or a reverse proxy when Config.TrustedProxyHeader
//     is not set). Behind a proxy, set it (trusted_proxy_header) so that
//     the address is the client's, not the proxy's: one abusive client
//     then slows down only itself and the accounts it guesses at.
//
// At most store.ThrottleMaxBuckets buckets are kept, and when a new one
// is needed the one whose last failure is oldest goes, after any that a
// day has passed over. Nothing is ever cleared all at once.
//
// The buckets are the store's (store.Throttle), so that with several nodes
// on one database every node counts the same failures; the embedded store
// keeps them in memory, bounded (store.ThrottleMaxBuckets).
const (
	signInFreeAccount = 5
	signInFreeDevice  = 5
	signInFreeAddress = 100
)

// Device cookies. A browser that signs in to an account gets a cookie for
// that account, "txd_" and 16 hex digits of SHA-256 of the username, only
// sent to the sign-in form. Its value is three dot-separated parts: a
// random id (base64url of 12 bytes), its expiry (Unix seconds), and the
// base64url HMAC-SHA256, under the server's device secret
// (<data>/keys/workspace-device.secret), of "truyxuat device v1\n",
// username, "\n", id, "\n", expiry.
const (
	deviceCookiePrefix = "txd_"
	// deviceCookieMaxAge is how long a browser stays known to an account
	// after it last signed in to it.
	deviceCookieMaxAge = 180 * 24 * time.Hour
)

func deviceCookieName(username string) string {
	h := sha256.Sum256([]byte(username))
	return deviceCookiePrefix + hex.EncodeToString(h[:8])
}

func (s *Workspace) deviceMAC(username, id, expiry string) string {
	m := hmac.New(sha256.New, s.deviceSecret)
	m.Write([]byte("truyxuat device v1\n" + username + "\n" + id + "\n" + expiry))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// knownDevice returns the id of the browser's device cookie for username,
// or "" when it has none that this server signed and that has not
// expired.
func (s *Workspace) knownDevice(c echo.Context, username string, now time.Time) string {
	ck, err := c.Cookie(deviceCookieName(username))
	if err != nil {
		return ""
	}
	id, rest, ok1 := strings.Cut(ck.Value, ".")
	expiry, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(id) != 16 {
		return ""
	}
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return ""
	}
	if !hmac.Equal([]byte(mac), []byte(s.deviceMAC(username, id, expiry))) {
		return ""
	}
	return id
}

// rememberDevice gives the browser a fresh device cookie for username.
func (s *Workspace) rememberDevice(c echo.Context, username string, now time.Time) {
	b := make([]byte, 12)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	expiry := strconv.FormatInt(now.Add(deviceCookieMaxAge).Unix(), 10)
	c.SetCookie(&http.Cookie{Name: deviceCookieName(username), Value: id + "." + expiry + "." + s.deviceMAC(username, id, expiry),
		Path: "/app/login", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(c),
		MaxAge: int(deviceCookieMaxAge / time.Second)})
}

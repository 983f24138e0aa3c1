package app

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
)

// loginVia signs in with the given request headers (the address a proxy
// says the browser has).
func (a *appClient) loginVia(username, password string, header map[string]string) *appResponse {
	a.t.Helper()
	form := url.Values{"username": {username}, "password": {password}}
	req, _ := http.NewRequest("POST", a.e.srv.URL+"/app/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.e.srv.URL)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return a.do(req)
}

func (e *testEnv) signInUser(t *testing.T, username, password string) {
	t.Helper()
	if err := e.db.CreateUser(&store.User{Username: username, Name: "Người " + username, Role: store.RoleAdmin}, password); err != nil {
		t.Fatal(err)
	}
}

// TestSignInOwnerNotLockedOut: someone else's wrong passwords for an
// account, from the same address even, do not keep its owner out of a
// browser the owner has signed in with before.
func TestSignInOwnerNotLockedOut(t *testing.T) {
	e := newEnv(t)
	e.signInUser(t, "thuky", "mat-khau-123")
	owner := e.appClient(t)
	owner.mustLogin("thuky", "mat-khau-123")
	if r := owner.post("/app/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}

	guesser := e.appClient(t)
	for i := range signInFreeAccount + 1 {
		want := http.StatusUnauthorized
		if i == signInFreeAccount {
			want = http.StatusTooManyRequests
		}
		if r := guesser.login("thuky", fmt.Sprintf("doan-%d", i)); r.status != want {
			t.Fatalf("guess %d: %d, want %d", i, r.status, want)
		}
	}
	// The owner's browser: a typo is just a typo, then in.
	if r := owner.login("thuky", "mat-khau-12"); r.status != http.StatusUnauthorized {
		t.Fatalf("owner's typo: %d", r.status)
	}
	if r := owner.login("thuky", "mat-khau-123"); r.status != http.StatusSeeOther {
		t.Fatalf("the owner is locked out: %d %s", r.status, r.body)
	}
	// A browser that never signed in to the account still waits: the
	// account's throttle is in force.
	if r := e.appClient(t).login("thuky", "mat-khau-123"); r.status != http.StatusTooManyRequests {
		t.Fatalf("a new browser during the guessing: %d", r.status)
	}
	// And the guesser still waits, right password or not.
	if r := guesser.login("thuky", "mat-khau-123"); r.status != http.StatusTooManyRequests {
		t.Fatalf("guesser: %d", r.status)
	}
}

// TestSignInDeviceCookie: the device cookie is only sent to the sign-in
// form, counts its own failures, works for its one account, and is
// believed only as the server signed it.
func TestSignInDeviceCookie(t *testing.T) {
	e := newEnv(t)
	e.signInUser(t, "thuky", "mat-khau-123")
	e.signInUser(t, "ketoan", "mat-khau-456")
	a := e.appClient(t)
	r := a.login("thuky", "mat-khau-123")
	var device *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == deviceCookieName("thuky") {
			device = ck
		}
	}
	if device == nil || device.Path != "/app/login" || !device.HttpOnly || device.SameSite != http.SameSiteStrictMode ||
		device.MaxAge != int(deviceCookieMaxAge/time.Second) {
		t.Fatalf("device cookie %+v", device)
	}
	u, _ := url.Parse(e.srv.URL + "/app/login")
	with := func(name, value string) *appClient {
		c := e.appClient(t)
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/app/login"}})
		return c
	}
	// A browser with the cookie has its own bucket: 5 failures, then it waits.
	for i := range signInFreeDevice {
		if r := a.login("thuky", "sai"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d with the cookie: %d", i, r.status)
		}
	}
	if r := a.login("thuky", "mat-khau-123"); r.status != http.StatusTooManyRequests {
		t.Fatalf("a device past its failures: %d", r.status)
	}
	// Which neither the account (a new browser) nor another account feels.
	if r := e.appClient(t).login("thuky", "mat-khau-123"); r.status != http.StatusSeeOther {
		t.Fatalf("a new browser after a device's failures: %d", r.status)
	}
	// Cookies that do not count: thuky's for ketoan, a changed MAC, an
	// expiry pushed back, garbage.
	mac := device.Value[strings.LastIndexByte(device.Value, '.')+1:]
	id, _, _ := strings.Cut(device.Value, ".")
	alt := "A"
	if mac[0] == 'A' {
		alt = "B"
	}
	flipped := strings.TrimSuffix(device.Value, mac) + alt + mac[1:]
	forged := map[string]*appClient{
		"another account's":  with(deviceCookieName("ketoan"), device.Value),
		"a changed MAC":      with(device.Name, flipped),
		"a later expiry":     with(device.Name, id+"."+fmt.Sprint(time.Now().Add(400*24*time.Hour).Unix())+"."+mac),
		"not a device value": with(device.Name, "x.y.z"),
	}
	for name, c := range forged {
		// As a browser with no cookie, they fall in the account's bucket.
		for range signInFreeAccount {
			c.login("ketoan", "sai")
			c.login("thuky", "sai")
		}
		for _, user := range []string{"ketoan", "thuky"} {
			if r := c.login(user, "sai"); r.status != http.StatusTooManyRequests {
				t.Errorf("%s cookie exempts %s from the account's throttle: %d", name, user, r.status)
			}
		}
		e.ws.db.SignInThrottle().Reset("u:ketoan")
		e.ws.db.SignInThrottle().Reset("u:thuky")
	}
}

// TestSignInDeviceKnownAcrossRestarts: the device secret lives in the
// key directory, so a cookie from one run counts in the next.
func TestSignInDeviceKnownAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, _ := store.OpenKeyDir(filepath.Join(dir, "keys"))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mount := func(keys store.Keys) *Workspace {
		w, err := Mount(api.New(api.Config{}, db, keys, logger))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	first, second := mount(keys), mount(keys)
	other := mount(nil)
	now := time.Now()
	rec := httptest.NewRecorder()
	first.rememberDevice(echo.New().NewContext(httptest.NewRequest("POST", "/app/login", nil), rec), "thuky", now)
	ck := rec.Result().Cookies()[0]
	check := func(s *Workspace, at time.Time) string {
		req := httptest.NewRequest("POST", "/app/login", nil)
		req.AddCookie(ck)
		return s.knownDevice(echo.New().NewContext(req, httptest.NewRecorder()), "thuky", at)
	}
	if id := check(second, now); id == "" || !strings.HasPrefix(ck.Value, id+".") {
		t.Errorf("the next run does not know the device: %q", id)
	}
	if id := check(other, now); id != "" {
		t.Error("a server with another secret believes the cookie")
	}
	if id := check(second, now.Add(deviceCookieMaxAge+time.Second)); id != "" {
		t.Error("an expired cookie counts")
	}
}

// TestSignInBehindProxy: with a trusted-proxy header, failures with
// made-up names from one client slow down that client, not the others
// behind the same proxy; without it, those others must have signed in
// before on that browser.
func TestSignInBehindProxy(t *testing.T) {
	guess := func(t *testing.T, e *testEnv, header map[string]string) {
		c := e.appClient(t)
		for i := range signInFreeAddress {
			if r := c.loginVia(fmt.Sprintf("khong-co-%d", i), "doan", header); r.status != http.StatusUnauthorized {
				t.Fatalf("made-up name %d: %d", i, r.status)
			}
		}
		if r := c.loginVia("khong-co-nua", "doan", header); r.status != http.StatusTooManyRequests {
			t.Fatalf("the guessing address is not slowed down: %d", r.status)
		}
	}
	t.Run("X-Forwarded-For from a trusted proxy", func(t *testing.T) {
		e := newEnv(t, func(c *api.Config) {
			c.TrustedProxyHeader = "X-Forwarded-For"
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		})
		e.signInUser(t, "thuky", "mat-khau-123")
		guess(t, e, map[string]string{"X-Forwarded-For": "203.0.113.7"})
		// A colleague behind the same proxy, on a browser new to the account.
		if r := e.appClient(t).loginVia("thuky", "mat-khau-123", map[string]string{"X-Forwarded-For": "198.51.100.2"}); r.status != http.StatusSeeOther {
			t.Fatalf("a colleague behind the proxy: %d", r.status)
		}
		// A client cannot pick its address by sending the header itself:
		// the proxy appends the address it saw, and that one counts.
		r := e.appClient(t).loginVia("khong-co", "doan", map[string]string{"X-Forwarded-For": "198.51.100.9, 203.0.113.7"})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("a spoofed first address: %d", r.status)
		}
	})
	t.Run("no proxy header", func(t *testing.T) {
		e := newEnv(t)
		e.signInUser(t, "thuky", "mat-khau-123")
		known := e.appClient(t)
		known.mustLogin("thuky", "mat-khau-123")
		guess(t, e, nil)
		if r := known.login("thuky", "mat-khau-123"); r.status != http.StatusSeeOther {
			t.Fatalf("a browser known to the account: %d", r.status)
		}
		if r := e.appClient(t).login("thuky", "mat-khau-123"); r.status != http.StatusTooManyRequests {
			t.Fatalf("a new browser at the guessing address: %d", r.status)
		}
	})
}

// TestSignInBucketKeysBounded: whatever is typed as a username, a
// bucket's key stays small.
func TestSignInBucketKeysBounded(t *testing.T) {
	e := newEnv(t)
	a := e.appClient(t)
	if r := a.login(strings.Repeat("ẩ", 100_000), "sai"); r.status != http.StatusUnauthorized {
		t.Fatalf("long username: %d", r.status)
	}
	keys := e.ws.db.SignInThrottle().(*store.MemoryThrottle).Keys()
	if len(keys) != 2 {
		t.Errorf("%d buckets, want the account's and the address's", len(keys))
	}
	for _, k := range keys {
		if len(k) > 80 {
			t.Errorf("a bucket key of %d bytes", len(k))
		}
	}
}

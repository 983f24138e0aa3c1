package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, header, remote, xff, realIP, want string
	}{
		{"no header configured: the connection", "", "10.1.2.3:5000", "203.0.113.7", "203.0.113.8", "10.1.2.3"},
		{"through a trusted proxy", "X-Forwarded-For", "10.1.2.3:5000", "203.0.113.7", "", "203.0.113.7"},
		{"through two trusted proxies", "X-Forwarded-For", "10.1.2.3:5000", "203.0.113.7, 10.9.9.9", "", "203.0.113.7"},
		{"a spoofed entry left of the proxy's", "X-Forwarded-For", "10.1.2.3:5000", "198.51.100.1, 203.0.113.7", "", "203.0.113.7"},
		{"not from a trusted proxy", "X-Forwarded-For", "192.0.2.4:5000", "203.0.113.7", "", "192.0.2.4"},
		{"loopback is not trusted unless listed", "X-Forwarded-For", "127.0.0.1:5000", "203.0.113.7", "", "127.0.0.1"},
		{"private networks are not trusted unless listed", "x-forwarded-for", "192.168.1.1:5000", "203.0.113.7", "", "192.168.1.1"},
		{"X-Real-IP from a trusted proxy", "X-Real-IP", "[fd00::1]:5000", "", "2001:db8::7", "2001:db8::7"},
		{"X-Real-IP from elsewhere", "X-Real-IP", "192.0.2.4:5000", "", "203.0.113.7", "192.0.2.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extract, ok := clientIPExtractor(tt.header, proxies)
			if !ok {
				t.Fatalf("header %q not known", tt.header)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.realIP != "" {
				req.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := extract(req); got != tt.want {
				t.Errorf("client address %q, want %q", got, tt.want)
			}
		})
	}
	if _, ok := clientIPExtractor("Forwarded", proxies); ok {
		t.Error("an unknown header is taken")
	}
}

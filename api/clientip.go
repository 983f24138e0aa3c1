package api

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// clientIPExtractor reads a request's client address: the connection's
// own, or, when a trusted-proxy header is configured and the request
// comes from one of the trusted proxies, the address the proxies name.
func clientIPExtractor(header string, proxies []netip.Prefix) (echo.IPExtractor, bool) {
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		trust = append(trust, echo.TrustIPRange(&net.IPNet{IP: p.Masked().Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	switch http.CanonicalHeaderKey(header) {
	case "":
		return echo.ExtractIPDirect(), true
	case echo.HeaderXForwardedFor:
		return echo.ExtractIPFromXFFHeader(trust...), true
	case http.CanonicalHeaderKey(echo.HeaderXRealIP):
		return echo.ExtractIPFromRealIPHeader(trust...), true
	}
	return echo.ExtractIPDirect(), false
}

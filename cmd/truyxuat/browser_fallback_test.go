package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserWithoutWebCryptoEd25519 plays an older Android WebView,
// whose WebCrypto has no Ed25519: the page must still check every
// signature in the browser, with the vendored @noble/ed25519, and reach
// "verified" — and the fallback must really have run.
func TestBrowserWithoutWebCryptoEd25519(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	// Before any page script: make Ed25519 unknown to WebCrypto, and count
	// the module loads of the fallback.
	const noEd25519 = `(() => {
  const subtle = crypto.subtle;
  const importKey = subtle.importKey.bind(subtle);
  subtle.importKey = (format, key, alg, ...rest) => {
    const name = typeof alg === "string" ? alg : alg && alg.name;
    if (name === "Ed25519") return Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"));
    return importKey(format, key, alg, ...rest);
  };
})();`
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: noEd25519})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := verification(t, ctx, "http://"+m.Addr()+demo.Batches[0].URL+"?lang=vi"); got != "verified" {
		t.Fatalf("without WebCrypto Ed25519: data-verification=%q\n%s", got, pageText(t, ctx, "document.body.innerText"))
	}
	loaded := pageText(t, ctx, `performance.getEntriesByType("resource").some(e => e.name.includes("/static/vendor/noble-ed25519/")) ? "yes" : "no"`)
	if loaded != "yes" {
		t.Error("the page verified without loading the @noble/ed25519 fallback: the test did not take WebCrypto's Ed25519 away")
	}
}

// Package static holds truyxuat's web assets — the consumer page's
// templates, stylesheet, verification script and message catalogues — and
// embeds them in the binary. The api package serves them from FS; tests
// may hand it another fs.FS.
//
// Message catalogues live in i18n/<lang>.json, one per language, with the
// same keys; adding a language is adding a file. vendor/ holds third-party
// code with its licence.
package static

import "embed"

// FS is the embedded tree: css/, js/, i18n/, templates/, vendor/.
//
//go:embed css js i18n templates vendor
var FS embed.FS

// Package api is truyxuat's HTTP interface, built on echo v4: the versioned
// JSON API under /api/v1 (documented by openapi.yaml, served at
// /api/v1/openapi.yaml), the public GS1 Digital Link resolver paths
// (/01/{gtin14}/10/{lot} and the short form /b/{id}), /healthz and the
// Prometheus metrics at /metrics.
//
// Every route is registered in one function (routes). Writes need an API
// key (Authorization: Bearer txk_…) with a role (roles.go): an admin key
// does anything, a cooperative's key writes only that cooperative's
// products, batches and events, an inspector's key reads everything and
// records inspections and recalls, signed with the inspector's own key.
// Verifiers accept an event signed by the cooperative's keys or by a
// registered inspector's. Errors are RFC 9457 problem
// details (application/problem+json), mapped from the domain's errors in
// one place (problem.go); internal details go to the log only.
//
// JSON wire types (wire.go) are separate from the signed domain types, so a
// renamed JSON field can never change what was signed.
//
// The transparency log (log.go) is served as C2SP tlog-tiles under /log/
// (checkpoint, hash tiles, entry bundles), with RFC 6962 proofs under
// /api/v1/log/proof/, a C2SP tlog-proof per event at
// /api/v1/events/{hash}/proof and the log's origin, verifier keys and
// witness policy at /.well-known/truyxuat.json. Histories carry the
// published checkpoint and each event's log index, entry and inclusion
// proof; VerifyBundle (bundle.go) checks a saved history offline.
//
// The consumer page (page.go) is what a resolver path answers a browser.
// The workspace, the web app for people under /app/, is an application of
// its own in package api/app: it mounts itself on a Server (Echo,
// ErrorPage, OwnBodyLimit, NoCompress in mount.go) and works through the
// same exported operations as the JSON API (CreateFromTemplateFor,
// RecordStepFor, TransformFor, …), so a form and a JSON request are held
// to the same rules. api/app imports api, never the other way round.
//
// Attachments (attachments.go) — photos and certificate scans — are
// uploaded to /api/v1/attachments, checked by their content, stored once
// by SHA-256 and served at /attachments/{sha256}, with resized JPEGs of
// images (?w=) for the consumer page. Events may refer only to stored
// attachments.
package api

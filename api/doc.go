// Package api is truyxuat's HTTP interface, built on echo v4: the versioned
// JSON API under /api/v1 (documented by openapi.yaml, served at
// /api/v1/openapi.yaml), the public GS1 Digital Link resolver paths
// (/01/{gtin14}/10/{lot} and the short form /b/{id}), /healthz and the
// Prometheus metrics at /metrics.
//
// Every route is registered in one function (routes). Writes need an API
// key (Authorization: Bearer txk_…); a cooperative's key writes only that
// cooperative's products, batches and events. Errors are RFC 9457 problem
// details (application/problem+json), mapped from the domain's errors in
// one place (problem.go); internal details go to the log only.
//
// JSON wire types (wire.go) are separate from the signed domain types, so a
// renamed JSON field can never change what was signed.
package api

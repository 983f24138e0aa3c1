// Package trace is truyxuat's domain: cooperatives, products, batches (lots)
// and the signed, hash-chained events that make up a batch's history. It is
// pure: no database, HTTP, clock or configuration; the store persists what
// it defines and the API serves it.
//
// # Events and their chain
//
// An Event is modelled on a GS1 EPCIS 2.0 event (ObjectEvent,
// AggregationEvent, TransformationEvent) with CBV 2.0 business steps and
// dispositions (vocab.go holds the lists). Events of one batch form a
// chain: event number Seq carries in Prev the hash of event Seq-1, and the
// first event (Seq 0) carries none. A TransformationEvent — a split, a
// merge, drying or milling — also names in Inputs the head hash of every
// input batch, so the whole history of a lot is a DAG back to its farm
// plots.
//
// # Canonical encoding, version 1
//
// An event's canonical bytes are what is hashed and signed. They are a JSON
// object written as follows, and Decode accepts nothing else:
//
//   - UTF-8, no white space outside strings, no byte order mark.
//   - Members appear in ascending byte order of their names, at every
//     level; a member whose value is empty (empty string, empty list,
//     absent object) is left out. The names are: action, attachments[]
//     {mediaType, name, sha256}, batch, bizLocation, bizStep,
//     certifications[] {id, scheme}, cooperative, data {…}, disposition,
//     eventTime, eventTimeZoneOffset, ilmd {countryOfOrigin, expiryDate,
//     harvestDate}, inputs[] {batch, hash, quantity}, loss, note, outputs[]
//     {batch, quantity}, parentID, prev, quantity, readPoint, seq, type, v.
//     A quantity is {unit, value}.
//   - seq (always present) and v (always 1) are JSON integers; every other
//     value is a string. Decimal quantities are strings in canonical form
//     (no sign, exponent, leading or trailing zeros: "1250", "0.5").
//     Hashes are 64 lowercase hex digits. eventTime is RFC 3339 with a
//     numeric offset and no trailing fractional zeros
//     ("2025-08-15T06:30:00+07:00").
//   - Strings escape '"' and '\' with a backslash, the control characters
//     U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r and the other
//     characters below U+0020 as \u00xx with lowercase hex. Every other
//     character, including '<', '>', '&', U+2028 and U+2029, is written as
//     its UTF-8 bytes.
//
// The event hash is SHA-256 of the canonical bytes. The signature is
// Ed25519 (RFC 8032) by the cooperative's key over the canonical bytes
// themselves. A new encoding would be version 2, and version 1 bytes stay
// verifiable forever; testdata/ pins bytes, hashes and signatures.
//
// # A lot's facts
//
// The first event of a lot's chain is its facts record (LotFacts): an
// ObjectEvent with action ADD and business step creating_class_instance
// that states what the cooperative declares about the lot — product id,
// GTIN and names at that moment, lot code, quantity, harvest date, plot and
// claimed certificates — in quantity, ilmd.harvestDate, certifications and
// the data names LotFacts lists. A correction is another such event with
// action OBSERVE; the newest holds. It is an ordinary event of encoding
// version 1: verifiers that know nothing of facts records verify it as
// they verify any event.
//
// # Registry records
//
// A cooperative's profile and each of its products are kept as chains of
// signed records (Record): revision Seq carries in Prev the hash of
// revision Seq-1. A record's canonical bytes follow the rules above, with
// the members cooperative, fields {…} (string values under the names its
// kind allows), id, kind ("cooperative" or "product"), prev, seq, time
// (written like eventTime) and v (1). No record is an event nor an event a
// record: each decoder refuses the other's members. A record is signed,
// hashed and entered in the log exactly as an event is.
//
// # Transparency log entries
//
// Every event is also one entry of truyxuat's single append-only Merkle log
// (RFC 6962, served as C2SP tlog-tiles; package tlog). The entry is 32
// bytes (LogEntry): SHA-256 of "truyxuat log entry v1\n" ‖ event hash ‖
// signature ‖ signer public key, so it commits to the event's canonical
// bytes and to its signature. A registry record's entry is made the same
// way from its hash. The log carries only these entries.
//
// # Verification
//
// VerifyHistory re-derives everything from the bytes and returns a
// *VerifyError that names the failing event and the reason: a bad
// signature, a broken link, an event out of order, a key that is not the
// cooperative's, a hash that does not match, or bytes that are not
// canonical.
//
// Rules for new input are kept apart from the form of the bytes. Validate
// refuses, besides malformed events, what should never be recorded: text
// or URIs holding bidirectional controls (U+202A–U+202E, U+2066–U+2069),
// which show text in another order than it is stored, zone offsets that
// no zone has (ParseZoneOffset), and quantities above their unit's bound
// (UnitMax). Decode applies only
// the form, so that a history accepted before a rule was added stays
// verifiable; every path that records a new event calls Validate.
//
// # Identifiers
//
// GTINs are kept as GTIN-14 with a valid GS1 check digit; lot codes follow
// GS1's rules (at most 20 characters of GS1 character set 82, so Vietnamese
// letters with diacritics are refused with a message that says so).
package trace

// Package store keeps truyxuat's data in one embedded bbolt file:
// cooperatives, products, batches, API keys (as hashes only) and the signed
// event chains of every batch.
//
// # Writes
//
// Event appends go through one sequencer goroutine that commits them in
// groups (group commit): it takes one request, then everything that is
// already queued (up to MaxGroup), applies them in one bbolt read-write
// transaction, syncs it to disk and only then acknowledges each caller.
// Requests that arrive while a transaction is syncing wait for the next
// one; there is no timer, so a lone writer never waits for company. An
// acknowledged event has been fsynced and survives a crash or kill -9.
//
// # Reads
//
// Reads use bbolt read transactions, which never wait for the writer.
// Bytes are copied out of bbolt before a transaction ends. Reading a
// history re-checks its chain (canonical bytes, hashes, order and links:
// trace.VerifyChain) and fails with trace.ErrVerification if the file was
// altered.
//
// Writes re-check too, before anything is signed: the first time a
// batch's head is read from the file for a write (by the caller of an
// append, in parallel with others, and handed to the sequencer; or by the
// sequencer itself) it is compared with the last stored event of the
// chain (its hash, its number, its link to the event before it and its
// entry in the event-hash index); an input a
// transformation names must lead, through the event-hash index, to a
// record with that hash; a lot-index entry must name a batch of that lot,
// and, before a label of a batch is signed, give its lot to it (CheckLot).
// A record that disagrees refuses the write with a *DamagedError
// (ErrDamaged) naming the batch, logged as an error; nothing is signed,
// and writes to other batches go on.
//
// # Backups and the published checkpoint
//
// DB.Backup, BackupFile and Snapshot copy the whole file as of one moment
// in a read transaction, while appends go on; CheckFile checks a closed
// copy (bbolt's page check, every chain and head, the log's bundles and
// tiles against the events, the newest checkpoint's root); Restore puts a
// checked copy back, setting the replaced file aside.
//
// The newest checkpoint the log ever signed is also kept outside the bbolt
// file, in PublishedFile beside it, written and synced before the
// checkpoint's transaction commits. A store whose log is behind it, or has
// another root at its size, opens read-only (ReadOnly): reads are
// answered, writes and checkpoints refused, so the log never signs two
// roots for one size, even after an older copy of the file is put back.
//
// # Layout
//
//	meta        "schema" → version
//	coops       id → JSON trace.Cooperative
//	products    id → JSON trace.Product
//	batches     id → JSON trace.Batch
//	lots        gtin14 "/" lot  or  "~" cooperative "/" product "/" lot → batch id
//	chains      batch id → uint64 length ‖ head hash
//	            batch id ‖ 0x00 ‖ uint32 segment → log indexes (uvarints)
//	eventlog    uint64 log index → event record
//	eventindex  event hash → uint64 log index
//	signers     "n" ‖ uint64 number → public key; "k" ‖ public key → number
//	recent      uint64 log index → batch id ‖ uint64 seq (the tail)
//	apikeys     SHA-256(secret) → JSON APIKey
//	apikeyids   key id → SHA-256(secret)
//
// (schema version 2, layout.go; a file of version 1 is converted when it
// is opened, migrate.go). A batch's chain is its segments: segment s
// holds the log indexes of its events 64·s to 64·s+63, beside its head.
// A commit writes only pages whose keys come last — its events, their log
// entries and tiles, and the tail (recent) — and not the chains, the heads
// or the event-hash index: the events of the tail are found through a map
// in memory and merged into those, in hash and batch order, by a
// transaction of their own once the tail is an eighth of the index, and
// when the store closes (meta "merged" is where the tail starts). bbolt's
// freelist is written only when the store closes (freelist.go).
//
// Pages of the buckets whose new keys come last (the log's, eventlog and
// recent) are filled completely when bbolt splits them; the others keep
// bbolt's default of half.
//
// An event record is: version byte 3, then body and signature, each as a
// uvarint length and bytes, the signer's number in signers as a uvarint,
// the API key id as a uvarint length and bytes, then the receive time as
// a big-endian int64 of Unix nanoseconds. Its log index is its key.
package store

-- truyxuat on PostgreSQL, schema version 1.
--
-- Cooperatives, products, batches, inspectors, API keys, people and
-- sessions are kept as the same JSON documents the embedded store keeps
-- (doc), with the columns queries and constraints need beside them.
-- Signed bytes (events, registry revisions, checkpoints) are kept as they
-- were signed (bytea), never re-encoded. Identifiers compare as bytes
-- (COLLATE "C"), so listings come in the embedded store's order whatever
-- the database's locale.

-- The registry and the lots.
CREATE TABLE cooperatives (
	id  text COLLATE "C" PRIMARY KEY,
	gln text COLLATE "C" NOT NULL DEFAULT '',
	doc jsonb NOT NULL
);
CREATE INDEX cooperatives_gln ON cooperatives (gln, id) WHERE gln <> '';

CREATE TABLE products (
	id             text COLLATE "C" PRIMARY KEY,
	cooperative_id text COLLATE "C" NOT NULL REFERENCES cooperatives (id),
	gtin           text UNIQUE, -- GTIN-14, NULL without one
	doc            jsonb NOT NULL
);
CREATE INDEX products_cooperative ON products (cooperative_id, id);

CREATE TABLE batches (
	id             text COLLATE "C" PRIMARY KEY,
	cooperative_id text COLLATE "C" NOT NULL REFERENCES cooperatives (id),
	product_id     text COLLATE "C" NOT NULL REFERENCES products (id),
	-- The lot index: gtin14 "/" lot, or "~" cooperative "/" product "/" lot.
	lot_key        text COLLATE "C" NOT NULL UNIQUE,
	doc            jsonb NOT NULL,
	-- The chain's head: its number of events and the last one's hash.
	length         bigint NOT NULL DEFAULT 0 CHECK (length >= 0),
	head           bytea CHECK (head IS NULL OR octet_length(head) = 32)
);
CREATE INDEX batches_cooperative ON batches (cooperative_id, id);

-- Every signed event, as signed. One chain per batch: one event per
-- number and per predecessor. One log entry per event.
CREATE TABLE events (
	batch_id    text COLLATE "C" NOT NULL REFERENCES batches (id),
	seq         bigint NOT NULL CHECK (seq >= 0),
	prev        bytea NOT NULL CHECK (octet_length(prev) = 32),
	hash        bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
	body        bytea NOT NULL,  -- canonical bytes (trace/doc.go)
	signature   bytea NOT NULL,
	signer      bytea NOT NULL,
	key_id      text NOT NULL,   -- the API key or user that wrote it
	received_ns bigint NOT NULL, -- Unix nanoseconds of its commit
	log_index   bigint NOT NULL UNIQUE,
	PRIMARY KEY (batch_id, seq),
	UNIQUE (batch_id, prev)
);

-- Transformations: input → output, both ways.
CREATE TABLE lineage (
	input  text COLLATE "C" NOT NULL,
	output text COLLATE "C" NOT NULL,
	PRIMARY KEY (input, output)
);
CREATE INDEX lineage_output ON lineage (output, input);

CREATE TABLE recalls (
	batch_id text COLLATE "C" NOT NULL,
	event    bytea NOT NULL,
	PRIMARY KEY (batch_id, event)
);

-- The registry's signed revisions (trace.Record), one log entry each.
CREATE TABLE records (
	kind        text COLLATE "C" NOT NULL,
	id          text COLLATE "C" NOT NULL,
	seq         bigint NOT NULL CHECK (seq >= 0),
	hash        bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
	body        bytea NOT NULL,
	signature   bytea NOT NULL,
	signer      bytea NOT NULL,
	key_id      text NOT NULL,
	received_ns bigint NOT NULL,
	log_index   bigint NOT NULL UNIQUE,
	PRIMARY KEY (kind, id, seq)
);

CREATE TABLE record_heads (
	kind   text COLLATE "C" NOT NULL,
	id     text COLLATE "C" NOT NULL,
	length bigint NOT NULL CHECK (length > 0),
	head   bytea NOT NULL CHECK (octet_length(head) = 32),
	PRIMARY KEY (kind, id)
);

-- A cooperative's registry lists (members, plots, certificates, listings).
CREATE TABLE registry_index (
	cooperative_id text COLLATE "C" NOT NULL,
	kind           text COLLATE "C" NOT NULL,
	id             text COLLATE "C" NOT NULL,
	PRIMARY KEY (cooperative_id, kind, id)
);

CREATE TABLE inspectors (
	id  text COLLATE "C" PRIMARY KEY,
	doc jsonb NOT NULL
);

-- The transparency log (C2SP tlog-tiles, height 8). Its one state row is
-- locked by every transaction that appends, so that nodes sharing the
-- database append one group at a time: one sequence, no fork, no gap.
CREATE TABLE log_state (
	id        smallint PRIMARY KEY CHECK (id = 0),
	size      bigint NOT NULL CHECK (size >= 0),
	recalls   bigint NOT NULL, -- recall events ever recorded
	records   bigint NOT NULL, -- registry revisions ever written
	read_only text             -- why every node refuses writes; NULL while they accept them
);
INSERT INTO log_state (id, size, recalls, records) VALUES (0, 0, 0, 0);

CREATE TABLE log_entries (
	idx  bigint PRIMARY KEY CHECK (idx >= 0),
	hash bytea NOT NULL UNIQUE -- the event's or registry revision's hash
);

CREATE TABLE log_tiles (
	level smallint NOT NULL,
	idx   bigint NOT NULL,
	data  bytea NOT NULL, -- the latest bytes of the hash tile
	PRIMARY KEY (level, idx)
);

CREATE TABLE log_bundles (
	idx  bigint PRIMARY KEY,
	data bytea NOT NULL -- the latest bytes of the entry bundle
);

CREATE TABLE checkpoints (
	size bigint PRIMARY KEY,
	note bytea NOT NULL -- the signed checkpoint, with any cosignatures
);

-- The newest checkpoint the log signed, and the newest its witnesses
-- cosigned: the log never signs a root at odds with it.
CREATE TABLE log_published (
	id            smallint PRIMARY KEY CHECK (id = 0),
	origin        text NOT NULL,
	size          bigint NOT NULL,
	root          bytea NOT NULL,
	checkpoint    text NOT NULL,
	cosigned_size bigint NOT NULL DEFAULT 0,
	cosigned      text NOT NULL DEFAULT ''
);

-- Which node signs checkpoints, until when.
CREATE TABLE checkpoint_lease (
	id      smallint PRIMARY KEY CHECK (id = 0),
	holder  text NOT NULL,
	expires timestamptz NOT NULL
);
INSERT INTO checkpoint_lease (id, holder, expires) VALUES (0, '', '-infinity');

-- API keys (the SHA-256 of the secret only), people, sessions.
CREATE TABLE api_keys (
	id             text COLLATE "C" PRIMARY KEY,
	secret_hash    bytea NOT NULL UNIQUE,
	cooperative_id text COLLATE "C" NOT NULL DEFAULT '',
	doc            jsonb NOT NULL
);

CREATE TABLE users (
	username text COLLATE "C" PRIMARY KEY,
	doc      jsonb NOT NULL
);

CREATE TABLE sessions (
	id       bytea PRIMARY KEY, -- SHA-256 of the cookie's secret
	username text COLLATE "C" NOT NULL,
	doc      jsonb NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);

CREATE TABLE idempotency (
	key   text COLLATE "C" PRIMARY KEY,
	event bytea NOT NULL
);

-- Photos and certificate scans, by the SHA-256 of their bytes.
CREATE TABLE attachments (
	sha256 bytea PRIMARY KEY CHECK (octet_length(sha256) = 32),
	info   jsonb NOT NULL,
	data   bytea NOT NULL
);

CREATE TABLE attachment_variants (
	sha256 bytea NOT NULL REFERENCES attachments (sha256),
	name   text COLLATE "C" NOT NULL,
	data   bytea NOT NULL,
	PRIMARY KEY (sha256, name)
);

-- Scans of labels: per lot and day, and per serialised label.
CREATE TABLE scans_daily (
	batch_id text COLLATE "C" NOT NULL,
	day      text COLLATE "C" NOT NULL, -- YYYYMMDD
	count    bigint NOT NULL,
	PRIMARY KEY (batch_id, day)
);

CREATE TABLE scans_serial (
	batch_id  text COLLATE "C" NOT NULL,
	serial    text COLLATE "C" NOT NULL,
	count     bigint NOT NULL,
	first_day text NOT NULL,
	last_day  text NOT NULL,
	PRIMARY KEY (batch_id, serial)
);

-- Secrets every node uses — the signing keys of cooperatives, inspectors
-- and the log, the workspace's cookie secret — sealed with
-- XChaCha20-Poly1305 under the master key each node holds as a file.
CREATE TABLE sealed_keys (
	name   text COLLATE "C" PRIMARY KEY,
	sealed bytea NOT NULL
);

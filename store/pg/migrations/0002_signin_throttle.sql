-- The workspace's sign-in throttle, shared by every node: one row per
-- bucket (an account, a client address, a known device), forgotten a day
-- after its last failure.
CREATE TABLE signin_throttle (
	key     text COLLATE "C" PRIMARY KEY,
	n       integer NOT NULL,
	last_ns bigint NOT NULL, -- Unix nanoseconds of the last failure
	until_ns bigint NOT NULL -- no attempt before this (Unix nanoseconds)
);
CREATE INDEX signin_throttle_last ON signin_throttle (last_ns);

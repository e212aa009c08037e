-- 0001_initial: sockets, probes, their results, and the event log.
--
-- Never edit this file once it has landed: databases in the field have already run it. Change the
-- schema with a new Migrations/NNNN_name.sql instead. The migrator runs this whole file in one
-- transaction with foreign keys off, checks them before COMMIT, and records it in schema_migrations.
--
-- Conventions for every table below:
--   * Times (*_at) are INTEGER unix microseconds, UTC. Durations (*_us) are INTEGER microseconds.
--     The API renders them as RFC 3339 with milliseconds and *_ms fields; storage keeps full precision.
--   * Columns documented as JSON hold JSON text (objects unless noted), written and read by the app.
--   * Ids (id, *_id) are the opaque strings the API shows; seq / id INTEGER columns are internal
--     orderings used as list cursors. AUTOINCREMENT so that a number is never reused, even after the
--     newest rows are deleted: a client's cursor or SSE Last-Event-ID never points at different data.
--   * Enumerations are lowercase TEXT with their values listed here, not CHECKed: a CHECK could only
--     be widened by rebuilding the table, and the app is their single writer.
--   * STRICT tables: SQLite refuses a value of the wrong type instead of storing it as it comes.

-- One row per socket session, open or closed.
CREATE TABLE sockets (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order and cursor
    id                TEXT    NOT NULL UNIQUE,            -- opaque id, unique for all time
    family            TEXT    NOT NULL,                   -- 'inet' | 'inet6' | 'unix' | 'netlink' | ...
    type              TEXT    NOT NULL,                   -- 'stream' | 'dgram' | 'seqpacket' | 'raw'
    protocol          TEXT    NULL,                       -- 'tcp' | 'udp' | 'icmp' | ...; NULL: the default for family and type
    label             TEXT    NULL,                       -- free text given by the client
    state             TEXT    NOT NULL,                   -- 'open' | 'bound' | 'listening' | 'connected' | 'closed' | ...
    local_address     TEXT    NULL,                       -- JSON address, once bound
    peer_address      TEXT    NULL,                       -- JSON address, once connected or accepted
    parent_id         TEXT    NULL                        -- the listening socket that accepted this one
                              REFERENCES sockets (id) ON DELETE SET NULL,
    options           TEXT    NULL,                       -- JSON: socket options last set or read
    created_at        INTEGER NOT NULL,                   -- unix µs
    closed_at         INTEGER NULL,                       -- unix µs; NULL while open
    close_reason      TEXT    NULL,                       -- why it closed: 'client' | 'peer' | 'idle' | 'shutdown' | ...
    bytes_sent        INTEGER NOT NULL DEFAULT 0,         -- payload bytes, totals over the socket's life
    bytes_received    INTEGER NOT NULL DEFAULT 0,
    messages_sent     INTEGER NOT NULL DEFAULT 0,         -- successful send/receive calls (datagrams for dgram)
    messages_received INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL                    -- unix µs of the last change to this row
) STRICT;

CREATE INDEX sockets_created_at_idx        ON sockets (created_at);
CREATE INDEX sockets_state_created_at_idx  ON sockets (state, created_at);
CREATE INDEX sockets_family_type_idx       ON sockets (family, type);
CREATE INDEX sockets_label_idx             ON sockets (label);
CREATE INDEX sockets_parent_id_idx         ON sockets (parent_id);  -- also serves ON DELETE SET NULL

-- One row per probe run (a port scan, a ping, a traceroute, ...).
CREATE TABLE probes (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order and cursor
    id                TEXT    NOT NULL UNIQUE,            -- opaque id, unique for all time
    kind              TEXT    NOT NULL,                   -- 'tcp_connect' | 'udp' | 'icmp_echo' | 'traceroute' | ...
    target            TEXT    NOT NULL,                   -- host name or address as the client gave it
    resolved_address  TEXT    NULL,                       -- the address actually probed; NULL if resolution failed
    request           TEXT    NOT NULL,                   -- JSON: the full request, for reruns and audit
    status            TEXT    NOT NULL,                   -- 'running' | 'finished'
    outcome           TEXT    NULL,                       -- set when finished: 'ok' | 'error' | 'timeout' | ...
    reason            TEXT    NULL,                       -- JSON: why it ended that way (errno, message, ...)
    phases            TEXT    NULL,                       -- JSON array: timed phases (resolve, connect, ...)
    summary           TEXT    NULL,                       -- JSON: aggregate figures (open ports, rtt min/avg/max, loss)
    started_at        INTEGER NOT NULL,                   -- unix µs
    finished_at       INTEGER NULL,                       -- unix µs; NULL while running
    duration_us       INTEGER NULL                        -- µs from start to finish
) STRICT;

CREATE INDEX probes_started_at_idx         ON probes (started_at);
CREATE INDEX probes_kind_started_at_idx    ON probes (kind, started_at);
CREATE INDEX probes_target_started_at_idx  ON probes (target, started_at);
CREATE INDEX probes_outcome_started_at_idx ON probes (outcome, started_at);

-- One row per attempt of a probe: a port tried, an echo sent, a hop reached. A position may repeat
-- (retries), so (probe_id, position) is indexed but deliberately not UNIQUE.
CREATE TABLE probe_results (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order within and across probes
    probe_id          TEXT    NOT NULL
                              REFERENCES probes (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,                   -- port number, or sequence / hop number
    state             TEXT    NOT NULL,                   -- 'open' | 'closed' | 'filtered' | 'reply' | 'lost' | ...
    rtt_us            INTEGER NULL,                       -- round-trip time in µs, when there was a reply
    ttl               INTEGER NULL,                       -- IP TTL / hop limit of the reply (or sent, for traceroute)
    bytes             INTEGER NULL,                       -- reply size in bytes
    errno             TEXT    NULL,                       -- errno name, e.g. 'ECONNREFUSED'
    detail            TEXT    NULL,                       -- JSON: anything else (ICMP type/code, responder address)
    at                INTEGER NOT NULL                    -- unix µs when the result was observed
) STRICT;

CREATE INDEX probe_results_probe_id_position_idx ON probe_results (probe_id, position);

-- One row per operation or happening, for sockets and probes alike. A single id sequence orders
-- everything, which is what a resumable event stream (SSE Last-Event-ID) needs.
CREATE TABLE events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,  -- global order; the SSE event id
    at                INTEGER NOT NULL,                   -- unix µs when the operation started
    socket_id         TEXT    NULL                        -- the socket concerned, if any
                              REFERENCES sockets (id) ON DELETE CASCADE,
    probe_id          TEXT    NULL                        -- the probe concerned, if any
                              REFERENCES probes (id) ON DELETE CASCADE,
    op                TEXT    NOT NULL,                   -- 'create' | 'bind' | 'connect' | 'send' | 'probe.start' | ...
    outcome           TEXT    NOT NULL,                   -- 'ok' | 'error' | 'timeout'
    errno             TEXT    NULL,                       -- errno name on failure, e.g. 'ECONNREFUSED'
    error_message     TEXT    NULL,                       -- human-readable failure text
    duration_us       INTEGER NULL,                       -- how long the operation took, µs
    args              TEXT    NULL,                       -- JSON: the operation's arguments
    result            TEXT    NULL,                       -- JSON: what it returned
    bytes             INTEGER NULL,                       -- payload bytes moved, for send/receive
    -- An event concerns a socket, a probe, or neither (e.g. a create that failed before a socket
    -- existed), never both.
    CONSTRAINT events_one_subject CHECK (socket_id IS NULL OR probe_id IS NULL)
) STRICT;

CREATE INDEX events_at_idx           ON events (at);
CREATE INDEX events_socket_id_id_idx ON events (socket_id, id);  -- also serves ON DELETE CASCADE
CREATE INDEX events_probe_id_id_idx  ON events (probe_id, id);
CREATE INDEX events_op_id_idx        ON events (op, id);
CREATE INDEX events_outcome_id_idx   ON events (outcome, id);

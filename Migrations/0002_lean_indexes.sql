-- 0002_lean_indexes: fewer index writes per event, and indexes that serve the lists' order.
--
-- Every recorded operation inserts one events row and updates its socket's row; each index on those
-- tables is one more B-tree written per operation. Measured under load, the history writer was a third of
-- the server's CPU. What changes:
--   * events (socket_id, id) and (probe_id, id) become partial: an event concerns a socket or a probe, never
--     both, so half of each index was NULL entries no query reads. `socket_id = ?` implies `IS NOT NULL`,
--     so lookups (lists, retention, ON DELETE CASCADE) still use them.
--   * events (outcome, id) only indexes outcomes other than 'ok': 'ok' is most rows and is found by walking
--     the primary key; queries for errors and timeouts add the term `outcome <> 'ok'` to use it. A second
--     partial index, (op, outcome, id), serves one operation's errors; both cost a write only on the few
--     events that are not 'ok'.
--   * sockets: lists are ordered by seq (the rowid), so an index on (state) alone keeps that order, where
--     (state, created_at) did not; sockets_created_at_idx served no query. label and parent_id are mostly
--     NULL: partial.
-- Rebuilding them reads the tables once; on a large history this migration takes seconds, once.

DROP INDEX events_socket_id_id_idx;
CREATE INDEX events_socket_id_id_idx ON events (socket_id, id) WHERE socket_id IS NOT NULL;

DROP INDEX events_probe_id_id_idx;
CREATE INDEX events_probe_id_id_idx ON events (probe_id, id) WHERE probe_id IS NOT NULL;

DROP INDEX events_outcome_id_idx;
CREATE INDEX events_outcome_id_idx ON events (outcome, id) WHERE outcome <> 'ok';
-- Errors of one operation (op=connect&outcome=error): without it SQLite walks every error of the log.
CREATE INDEX events_op_outcome_id_idx ON events (op, outcome, id) WHERE outcome <> 'ok';

DROP INDEX sockets_created_at_idx;
DROP INDEX sockets_state_created_at_idx;
CREATE INDEX sockets_state_idx ON sockets (state);

DROP INDEX sockets_label_idx;
CREATE INDEX sockets_label_idx ON sockets (label) WHERE label IS NOT NULL;

DROP INDEX sockets_parent_id_idx;
CREATE INDEX sockets_parent_id_idx ON sockets (parent_id) WHERE parent_id IS NOT NULL;

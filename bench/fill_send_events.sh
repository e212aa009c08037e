#!/usr/bin/env bash
# Fills a migrated Sockpit database with COUNT send events of one closed UDP socket, through SQL (fast): the
# synthetic history of bench/events_export.sh and Tests/e2e/export_memory.sh. The events are dated 2025-11,
# so run the server with retention off (--retention-days 0 --retention-max-events 0).
#   fill_send_events.sh DATABASE COUNT
set -euo pipefail
DB=$1
COUNT=$2
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || { echo "fill_send_events.sh: COUNT must be a positive integer" >&2; exit 2; }
sqlite3 "$DB" <<SQL >/dev/null
PRAGMA journal_mode=WAL;
INSERT INTO sockets (id, family, type, protocol, state, created_at, closed_at, close_reason, updated_at)
VALUES ('sk_synthetic', 'inet', 'dgram', 'udp', 'closed', 1764000000000000, 1764000000000001, 'client', 1764000000000001);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $COUNT)
INSERT INTO events (at, socket_id, op, outcome, duration_us, args, result, bytes)
SELECT 1764000000000000 + i, 'sk_synthetic', 'send', 'ok', 12,
       '{"data":{"bytes":64,"preview":"0123456789abcdef0123456789abcdef","preview_encoding":"utf8"},"timeout_ms":1000}',
       '{"bytes_sent":64}', 64 FROM n;
SQL

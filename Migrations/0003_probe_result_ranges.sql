-- 0003_probe_result_ranges: a port scan's closed ports are stored as ranges.
--
-- A 1-65535 scan of a host stored a row for every port: 65,535 rows (several MB of database) for a verdict
-- that is "closed" for almost all of them. A row may now stand for a run of consecutive positions with the
-- same verdict: `position` is the first, `last_position` the last (NULL: the row is one position). Such rows
-- carry the state and errno they share, and no per-port round-trip time. Open, filtered and answered ports,
-- and every echo, keep a row each.
ALTER TABLE probe_results ADD COLUMN last_position INTEGER NULL;

-- probe.finish events written before this version carry the probe's reason as a string holding JSON; it is
-- an object now, as in every event written from here on.
UPDATE events SET result = json_set(result, '$.reason', json(json_extract(result, '$.reason')))
WHERE op = 'probe.finish' AND json_type(result, '$.reason') = 'text' AND json_valid(json_extract(result, '$.reason'));

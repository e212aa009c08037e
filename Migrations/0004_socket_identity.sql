-- 0004_socket_identity: every socket's kernel identity, kept with its session.
--
-- `cookie` is SO_COOKIE, the kernel's id of the socket, the same through every descriptor of it (a socket passed
-- to another process or back keeps it), as decimal text: it is an unsigned 64-bit number. `peer_credentials` is
-- SO_PEERCRED of a connected Unix socket, as JSON {"pid", "uid", "gid"}. Rows written before this version have
-- neither.
ALTER TABLE sockets ADD COLUMN cookie TEXT NULL;
ALTER TABLE sockets ADD COLUMN peer_credentials TEXT NULL;

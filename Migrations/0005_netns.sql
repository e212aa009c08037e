-- 0005_netns: the network namespace each socket, probe and event belongs to.
--
-- `netns` is the name under /run/netns the socket or probe was made in (`netns` in the request), or, for a socket
-- received from a process in a namespace this service did not open, the kernel's `net:[INODE]`; NULL for the
-- service's own namespace. An event carries its socket's or probe's, so that every operation's history names it.
-- Rows written before this version are in the service's own namespace: NULL is right for them.
ALTER TABLE sockets ADD COLUMN netns TEXT NULL;
ALTER TABLE probes ADD COLUMN netns TEXT NULL;
ALTER TABLE events ADD COLUMN netns TEXT NULL;

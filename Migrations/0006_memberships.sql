-- 0006_memberships: the multicast groups a socket joined through the API and has not left.
--
-- JSON array of {"group": "239.1.2.3", "interface": {"index": 2, "name": "eth0"} | {"address": "10.0.0.1"}}
-- (no "interface" when the kernel chose it by route); NULL for none. The kernel offers no per-socket list to
-- read back, so the service keeps what it asked for: a join it made, less the leaves it made.
ALTER TABLE sockets ADD COLUMN memberships TEXT NULL;

import Glibc
public import SystemPackage

extension Socket {
    /// The kernel's id (`SO_COOKIE`) of the Unix socket at the other end of this connected one, as the kernel's
    /// socket diagnostics report it (`UNIX_DIAG_PEER`, sock_diag(7)): the one way to learn which socket a message sent
    /// here lands in, since no `getsockopt` names the peer. `namespace` is the one this socket is in (Unix
    /// diagnostics answer per namespace).
    ///
    /// - Returns: nil when this socket has no peer (not connected, the peer closed).
    /// - Throws: the kernel's `Errno` or a `NetlinkError` (`ENOENT` where the kernel has no unix_diag).
    public func unixPeerCookie(in namespace: NetworkNamespace? = nil) async throws -> UInt64? {
        let inode = try withUnsafeFileDescriptor { fd throws(Errno) -> UInt32 in
            var status = stat()
            _ = try syscall { fstat(fd, &status) }
            return UInt32(truncatingIfNeeded: status.st_ino)
        }
        let channel = try NetlinkChannel(protocol: .netlinkSockDiag, in: namespace)
        guard let me = try await channel.query(type: 20, payload: SocketDiag.unixRequest(inode: inode)).flatMap(SocketDiag.unixSocket),
              let peer = me.peerInode else { return nil }
        return try await channel.query(type: 20, payload: SocketDiag.unixRequest(inode: peer)).flatMap(SocketDiag.unixSocket)?.cookie
    }
}

import CLinux
import Glibc
public import SystemPackage

extension Socket {
    /// The kernel's id (`SO_COOKIE`) of the Unix socket at the other end of this connected one, as the kernel's
    /// socket diagnostics report it (`NETLINK_SOCK_DIAG`, `UNIX_DIAG_PEER`, sock_diag(7)): the one way to learn
    /// which socket a message sent here lands in, since no `getsockopt` names the peer.
    ///
    /// - Returns: nil when this socket has no peer (not connected, the peer closed).
    /// - Throws: the kernel's `Errno`; `ENOENT` or `EPROTONOSUPPORT` where the kernel has no unix_diag.
    public func unixPeerCookie() throws(Errno) -> UInt64? {
        let inode = try withUnsafeFileDescriptor { fd throws(Errno) -> UInt32 in
            var status = stat()
            _ = try syscall { fstat(fd, &status) }
            return UInt32(truncatingIfNeeded: status.st_ino)
        }
        let diagnostics = try Socket(family: .netlink, type: .raw, protocol: SocketProtocol(rawValue: NETLINK_SOCK_DIAG))
        defer { try? diagnostics.close() }
        guard let peer = try diagnostics.unixDiagnosis(inode: inode, show: UInt32(UDIAG_SHOW_PEER)).peerInode, peer != 0 else {
            return nil
        }
        return try diagnostics.unixDiagnosis(inode: peer, show: 0).cookie
    }

    /// One unix_diag request for the socket with `inode` on this `NETLINK_SOCK_DIAG` socket, and its reply.
    private func unixDiagnosis(inode: UInt32, show: UInt32) throws(Errno) -> (cookie: UInt64, peerInode: UInt32?) {
        struct Request {
            var header: nlmsghdr
            var body: unix_diag_req
        }
        var request = Request(header: nlmsghdr(), body: unix_diag_req())
        request.header.nlmsg_len = UInt32(MemoryLayout<Request>.size)
        request.header.nlmsg_type = UInt16(SOCK_DIAG_BY_FAMILY)
        request.header.nlmsg_flags = UInt16(NLM_F_REQUEST)
        request.body.sdiag_family = UInt8(AF_UNIX)
        request.body.udiag_states = UInt32.max
        request.body.udiag_ino = inode
        request.body.udiag_show = show
        request.body.udiag_cookie = (UInt32.max, UInt32.max)  // INET_DIAG_NOCOOKIE: any socket with this inode
        var reply = [UInt8](repeating: 0, count: 1024)
        let length = try withUnsafeFileDescriptor { fd throws(Errno) -> Int in
            let sent = withUnsafeBytes(of: &request) { bytes in
                Result { () throws(Errno) in try syscall { Glibc.send(fd, bytes.baseAddress, bytes.count, 0) } }
            }
            _ = try sent.get()
            // The kernel answers a sock_diag request while it handles the send: the reply is queued already.
            let received = reply.withUnsafeMutableBytes { bytes in
                Result { () throws(Errno) in try syscall { Glibc.recv(fd, bytes.baseAddress, bytes.count, 0) } }
            }
            return try received.get()
        }
        let parsed = reply.withUnsafeBytes { bytes in Result { () throws(Errno) in try Self.parseUnixDiagnosis(bytes, length: length) } }
        return try parsed.get()
    }

    /// The cookie and `UNIX_DIAG_PEER` of a unix_diag reply of `length` bytes.
    private static func parseUnixDiagnosis(_ bytes: UnsafeRawBufferPointer, length: Int) throws(Errno) -> (cookie: UInt64, peerInode: UInt32?) {
        let headerSize = MemoryLayout<nlmsghdr>.size
        guard length >= headerSize else { throw Errno.ioError }
        let header = bytes.loadUnaligned(as: nlmsghdr.self)
        if header.nlmsg_type == UInt16(NLMSG_ERROR) {
            let code = length >= headerSize + 4 ? bytes.loadUnaligned(fromByteOffset: headerSize, as: Int32.self) : -EIO
            throw Errno(rawValue: code == 0 ? EIO : -code)
        }
        let messageSize = MemoryLayout<unix_diag_msg>.size
        guard header.nlmsg_type == UInt16(SOCK_DIAG_BY_FAMILY), length >= headerSize + messageSize else { throw Errno.ioError }
        let message = bytes.loadUnaligned(fromByteOffset: headerSize, as: unix_diag_msg.self)
        let cookie = UInt64(message.udiag_cookie.1) << 32 | UInt64(message.udiag_cookie.0)
        // Attributes follow the message, each a 4-byte rtattr-style header padded to 4 bytes (NLA_ALIGN).
        var offset = headerSize + messageSize
        let end = min(length, Int(header.nlmsg_len))
        var peerInode: UInt32?
        while offset + 4 <= end {
            let attributeLength = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let attributeType = Int(bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
            guard attributeLength >= 4, offset + attributeLength <= end else { break }
            if attributeType == Int(UNIX_DIAG_PEER), attributeLength >= 8 {
                peerInode = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            }
            offset += (attributeLength + 3) & ~3
        }
        return (cookie, peerInode)
    }
}

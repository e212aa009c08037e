import Glibc
@testable import SocketKit
import SystemPackage
import Testing

@Suite("Socket ownership")
struct SocketTests {
    /// The inode behind `fd`, or `nil` once it is closed.
    ///
    /// Tests run in parallel and the kernel reuses the lowest free number at once, so "closed" is checked
    /// as "no longer this socket's inode", not merely as `EBADF`.
    private func inode(_ fd: CInt) -> UInt? {
        var status = stat()
        return fstat(fd, &status) == 0 ? UInt(status.st_ino) : nil
    }

    @Test("A socket closes once; later use and a second close throw EBADF")
    func closedSocketThrowsEBADF() throws {
        let socket = try Socket(family: .inet, type: .stream, protocol: .tcp)
        let fd = try socket.withUnsafeFileDescriptor { $0 }
        let before = try #require(inode(fd))
        try socket.close()
        #expect(!socket.isOpen)
        #expect(inode(fd) != before)
        #expect(throws: Errno.badFileDescriptor) { try socket.withUnsafeFileDescriptor { $0 } }
        #expect(throws: Errno.badFileDescriptor) { try socket.close() }
    }

    @Test("New sockets are non-blocking and close-on-exec")
    func socketsAreNonBlockingAndCloseOnExec() throws {
        let socket = try Socket(family: .unix, type: .dgram)
        defer { try? socket.close() }
        try socket.withUnsafeFileDescriptor { fd in
            #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        }
    }

    @Test("Closing while the descriptor is lent defers close(2) to the borrower's return")
    func closeDuringBorrowIsDeferred() throws {
        let socket = try Socket(family: .unix, type: .stream)
        let (fd, before) = try socket.withUnsafeFileDescriptor { fd throws(Errno) in
            let before = inode(fd)
            try socket.close()
            #expect(before != nil && inode(fd) == before, "a lent descriptor stays open until the borrower returns")
            #expect(throws: Errno.badFileDescriptor) { try socket.withUnsafeFileDescriptor { $0 } }
            return (fd, before)
        }
        #expect(inode(fd) != before)
    }

    @Test("Concurrent borrowers never see the descriptor closed under them, and all see EBADF after close")
    func closeRacingBorrowersIsSafe() async throws {
        let socket = try Socket(family: .inet, type: .dgram, protocol: .udp)
        let original = try #require(try socket.withUnsafeFileDescriptor { inode($0) })
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<2_000 {
                        // EBADF after the close is expected; a different inode while lent is the bug.
                        try? socket.withUnsafeFileDescriptor { fd throws(Errno) in
                            if inode(fd) != original { Issue.record("descriptor \(fd) changed while lent") }
                        }
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(2))
                try? socket.close()
            }
        }
        #expect(!socket.isOpen)
        #expect(throws: Errno.badFileDescriptor) { try socket.withUnsafeFileDescriptor { $0 } }
    }

    @Test("A socket dropped without close is closed by deinit")
    func droppedSocketIsClosed() throws {
        // Deliberately never closed: dropping an open socket is what this test checks, so this one
        // "leak of an open socket" line on stderr (and its count in `Socket.leaks`) is expected.
        var socket: Socket? = try Socket(family: .inet6, type: .dgram, protocol: .udp)
        let fd = try socket!.withUnsafeFileDescriptor { $0 }
        let before = try #require(inode(fd))
        socket = nil
        #expect(inode(fd) != before)
    }

    @Test("socket() failures surface the kernel's errno")
    func creationFailureThrowsErrno() {
        #expect(throws: Errno.protocolNotSupported) {
            try Socket(family: .inet, type: .stream, protocol: .udp)
        }
    }

    @Test("A socketpair gives two connected descriptors: bytes written to one are read from the other")
    func socketPairIsConnected() throws {
        let (left, right) = try Socket.pair(type: .stream)
        defer { try? left.close(); try? right.close() }
        #expect(left.family == .unix && right.type == .stream)
        let message = Array("ping".utf8)
        let written = try left.withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall { message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        }
        #expect(written == message.count)
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = try right.withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        }
        #expect(Array(buffer[..<count]) == message)
        let address = try right.withUnsafeFileDescriptor { fd throws(Errno) in
            var raw = SockAddrStorage()
            _ = try raw.withMutableSockAddr { address, length throws(Errno) in
                try syscall { getpeername(fd, address, length) }
            }
            return raw
        }
        #expect(try address.address() == .unix(path: ""), "socketpair ends are unnamed")
    }

    @Test("An empty non-blocking socket reports EAGAIN rather than blocking")
    func emptyReadIsEAGAIN() throws {
        let (left, right) = try Socket.pair(type: .seqpacket)
        defer { try? left.close(); try? right.close() }
        #expect(throws: Errno.resourceTemporarilyUnavailable) {
            try left.withUnsafeFileDescriptor { fd throws(Errno) in
                var byte: UInt8 = 0
                return try syscall { read(fd, &byte, 1) }
            }
        }
    }
}

import Glibc
import SystemPackage
import Testing
@testable import SocketKit

@Suite("Reactor: readiness waiting with deadlines, no thread parked")
struct ReactorTests {
    private func fd(_ socket: Socket) throws -> CInt { try socket.withUnsafeFileDescriptor { $0 } }

    private func send(_ byte: UInt8, on socket: Socket) throws {
        var value = byte
        _ = try socket.withUnsafeFileDescriptor { fd throws(Errno) in try syscall { Glibc.write(fd, &value, 1) } }
    }

    @Test("a wait for readable ends when the peer writes")
    func readableAfterPeerWrites() async throws {
        let (a, b) = try Socket.pair(type: .stream)
        defer { try? a.close(); try? b.close() }
        let reactor = Reactor.shared
        let fdA = try fd(a)
        async let readiness = reactor.wait(for: .readable, on: fdA, until: .now + .seconds(10))
        // The wait is registered before the write or after it; either way it must end `.ready`.
        try send(7, on: b)
        #expect(try await readiness == .ready)
    }

    @Test("a wait with nothing to read times out at its deadline and leaves nothing registered")
    func deadlinePasses() async throws {
        let (a, peer) = try Socket.pair(type: .stream)
        // Closed only at the end: a closed peer would make `a` readable (EOF).
        defer { try? a.close(); try? peer.close() }
        let reactor = try Reactor()
        let started = ContinuousClock.now
        let readiness = try await reactor.wait(for: .readable, on: try fd(a), until: started + .milliseconds(100))
        let elapsed = ContinuousClock.now - started
        #expect(readiness == .timedOut)
        #expect(elapsed >= .milliseconds(100))
        // Only "it did not hang", so generous: CI runs every suite in parallel on two cores.
        #expect(elapsed < .seconds(30))
        #expect(reactor.pendingCount == 0)
    }

    @Test("a fresh connected socket is writable at once")
    func writableAtOnce() async throws {
        let (a, b) = try Socket.pair(type: .stream)
        defer { try? a.close(); try? b.close() }
        #expect(try await Reactor.shared.wait(for: .writable, on: try fd(a), until: .now + .seconds(5)) == .ready)
    }

    @Test("200 pending waits do not delay another one that becomes ready")
    func manyPendingWaits() async throws {
        let reactor = try Reactor()
        var idle: [(Socket, Socket)] = []
        // Also keeps the idle pairs open until the group has drained, so no idle wait sees EOF.
        defer { for (x, y) in idle { try? x.close(); try? y.close() } }
        for _ in 0..<200 { idle.append(try Socket.pair(type: .stream)) }
        let (a, b) = try Socket.pair(type: .dgram)
        defer { try? a.close(); try? b.close() }
        try await withThrowingTaskGroup(of: Readiness.self) { group in
            for pair in idle {
                let fd = try fd(pair.0)
                group.addTask { try await reactor.wait(for: .readable, on: fd, until: .now + .seconds(30)) }
            }
            let fdA = try fd(a)
            async let ready = reactor.wait(for: .readable, on: fdA, until: .now + .seconds(30))
            try send(1, on: b)
            // Ready, not timed out: the 200 idle waits (30 s deadlines) did not hold this one back. No timing
            // assertion here: speed lives in bench/, and CI runs suites in parallel.
            #expect(try await ready == .ready)
            group.cancelAll()
            while let result = await group.nextResult() {
                if case .success = result { Issue.record("an idle wait ended without data") }
            }
        }
        #expect(reactor.pendingCount == 0)
    }

    @Test("cancelling the waiting task ends the wait with CancellationError and unregisters it")
    func cancellation() async throws {
        let reactor = try Reactor()
        let (a, peer) = try Socket.pair(type: .stream)
        defer { try? a.close(); try? peer.close() }
        let fdA = try fd(a)
        let task = Task { try await reactor.wait(for: .readable, on: fdA, until: .now + .seconds(30)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(reactor.pendingCount == 0)
    }

    @Test("waiting on a closed descriptor fails with EBADF")
    func closedDescriptor() async throws {
        let reactor = try Reactor()
        await #expect(throws: Errno.badFileDescriptor) {
            try await reactor.wait(for: .readable, on: 987_654, until: .now + .seconds(1))
        }
    }
}

import Glibc
import SocketKit
import Storage

extension SocketRegistry {
    /// Closes a socket for the client. Closing a closed session is a no-op (idempotent).
    public func close(id: String) async throws {
        try SockpitError.checkWritable(repository, operation: "close")
        guard let managed = open.withLock({ $0.removeValue(forKey: id) }) else {
            guard try await repository.find(id: id) != nil else { throw Self.notFound(id) }
            return
        }
        // An operation waiting on the socket (a receive, an accept, a connect) holds its lock until its deadline: no
        // more reading wakes it (shutdown(2) is made for this: see inet_shutdown), and it answers that the socket
        // closed. Nothing goes to the peer; a send waiting for buffer space still runs to its own deadline.
        managed.closing = true
        try? managed.socket.shutdown(.read)
        try await managed.lock.withLock {
            try await SockpitError.recording("close") {
                try await finish(managed, reason: managed.peerClosed ? CloseReason.peerClosed : CloseReason.client)
            }
        }
    }

    /// Closes every open socket (server shutdown), recording reason `server-shutdown`. All at once: their
    /// records share commits (and, with the disk full, one failed commit), and sockets that linger wait together.
    public func closeAll() async {
        let all = open.withLock { sockets in defer { sockets.removeAll() }; return Array(sockets.values) }
        await withTaskGroup(of: Void.self) { group in
            for managed in all {
                group.addTask { [self] in
                    // Shutdown does not wait out a linger: the kernel still sends what is queued, after the process ends.
                    if case .linger(true, let seconds)? = try? managed.socket.option(.so_linger), seconds > 0 {
                        try? managed.socket.setOption(.so_linger, .linger(enabled: false, seconds: 0))
                    }
                    do { try await finish(managed, reason: CloseReason.serverShutdown) } catch {
                        logger.error("recording a shutdown close failed", metadata: ["socket.id": "\(managed.id)", "error": "\(error)"])
                    }
                }
            }
        }
        if !all.isEmpty { logger.info("closed open sockets at shutdown", metadata: ["count": "\(all.count)"]) }
    }

    func finish(_ managed: ManagedSocket, reason: String) async throws {
        let started = UnixTime.nowMicros()
        var outcome = "ok"
        var errnoName: String?
        do { try await managed.socket.closeWithoutBlocking() } catch {
            outcome = "error"
            errnoName = error.name
        }
        // The service unlinks the Unix names it bound, so that closed sessions leave no files behind.
        if let path = managed.boundPath.withLock({ $0 }) { _ = unlink(path) }
        let record = managed.update { record in
            record.state = SocketState.closed.rawValue
            record.closedAt = started
            record.closeReason = reason
            record.updatedAt = started
        }
        var result: [String: Detail] = ["reason": .string(reason)]
        result["rights_in_flight"] = rightsInFlight.closing(managed.id)
        let event = EventRecord(at: started, socketID: managed.id, op: "close", outcome: outcome, errno: errnoName,
                                durationUs: UnixTime.nowMicros() - started, result: .object(result))
        _ = try await repository.record(record, event: event)
    }
}

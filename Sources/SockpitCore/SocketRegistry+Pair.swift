import SocketKit
import Storage

extension SocketRegistry {
    /// `socketpair(2)`: two connected Unix sockets, recorded as two sessions.
    public func createPair(type: String, label: String?) async throws -> (SocketSnapshot, SocketSnapshot) {
        guard let socketType = SocketType(name: type), [.stream, .dgram, .seqpacket].contains(socketType) else {
            throw SockpitError(.invalid, "type '\(type)' is not one of stream, dgram, seqpacket", field: "type")
        }
        try LabelText.validate(label)
        try SockpitError.checkWritable(repository, operation: "socketpair")
        guard reserveSlots(2) else {
            throw SockpitError(.limit, "max_open_sockets (\(policy.maxOpenSockets)) reached: close sockets before creating more")
        }
        defer { releaseSlots(2) }
        let pair: (Socket, Socket)
        do { pair = try Socket.pair(type: socketType) } catch {
            throw SockpitError.system(error, during: "socketpair(unix, \(type))")
        }
        let now = UnixTime.nowMicros()
        var first = SocketRecord(id: Identifier.make(prefix: "sk"), family: "unix", type: type, protocol: "default",
                                 label: label, state: SocketState.connected.rawValue, createdAt: now)
        var second = SocketRecord(id: Identifier.make(prefix: "sk"), family: "unix", type: type, protocol: "default",
                                  label: label, state: SocketState.connected.rawValue, createdAt: now)
        Self.identify(&first, pair.0)
        Self.identify(&second, pair.1)
        // Open before they are recorded: should history fail after the fact, the sockets exist and are queued in it.
        open.withLock { sockets in
            sockets[first.id] = ManagedSocket(socket: pair.0, record: first)
            sockets[second.id] = ManagedSocket(socket: pair.1, record: second)
        }
        do {
            for (record, peer) in [(first, second.id), (second, first.id)] {
                let event = EventRecord(at: now, socketID: record.id, op: "socketpair", outcome: "ok",
                                        args: Detail.object(["type": .string(type), "peer_id": .string(peer)]))
                _ = try await repository.create(record, event: event)
            }
        } catch let failure as HistoryUnavailable where failure.tookEffect {
            throw SockpitError(history: failure, operation: "socketpair (sockets \(first.id) and \(second.id))")
        } catch {
            _ = open.withLock { sockets in [sockets.removeValue(forKey: first.id), sockets.removeValue(forKey: second.id)] }
            try? pair.0.close()
            try? pair.1.close()
            throw SockpitError(.internal, "the socket pair could not be recorded in history")
        }
        return (try first.snapshot, try second.snapshot)
    }
}

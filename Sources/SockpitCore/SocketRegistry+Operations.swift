import SocketKit
import Storage
import SystemPackage

extension SocketRegistry {
    /// `bind(2)`; port 0 gets the kernel's choice, reported in `local_address`.
    public func bind(id: String, address spec: Address) async throws -> SocketSnapshot {
        try await perform(id, op: "bind", args: .object(["address": spec.detail])) { (managed: ManagedSocket) async throws -> Step<Void> in
            let address = try await resolve(spec, for: managed, field: "address")
            do { try managed.socket.bind(to: address) } catch let error as Errno {
                throw Self.classify(error, op: "bind", conflicts: [.invalidArgument, .addressInUse])
            }
            if case .unix(let path) = address { managed.boundPath.withLock { $0 = path } }
            let local = (try? managed.socket.localAddress()).flatMap { shown($0, of: managed) }?.detail
            return Step(value: (), result: local.map { .object(["local_address": $0]) }) { record in
                if record.state == SocketState.created.rawValue { record.state = SocketState.bound.rawValue }
                record.localAddress = local
            }
        }.1.snapshot
    }

    /// `listen(2)`.
    public func listen(id: String, backlog: Int) async throws -> SocketSnapshot {
        guard (0...65535).contains(backlog) else {
            throw SockpitError(.invalid, "backlog must be between 0 and 65535, got \(backlog)", field: "backlog")
        }
        return try await perform(id, op: "listen", args: .object(["backlog": .int(Int64(backlog))])) { (managed: ManagedSocket) async throws -> Step<Void> in
            do { try managed.socket.listen(backlog: Int32(backlog)) } catch let error as Errno {
                throw Self.classify(error, op: "listen", conflicts: [.notSupported, .invalidArgument],
                                    detail: "listen on a \(managed.socket.type.name) socket")
            }
            let local = (try? managed.socket.localAddress()).flatMap { shown($0, of: managed) }?.detail
            return Step(value: (), result: local.map { .object(["local_address": $0]) }) { record in
                record.state = SocketState.listening.rawValue
                record.localAddress = local
            }
        }.1.snapshot
    }

    /// `connect(2)` with a deadline; a host name is resolved and the address used is reported.
    public func connect(id: String, address spec: Address, timeout requested: Duration) async throws -> SocketSnapshot {
        let timeout = min(requested, policy.maxWait)
        return try await perform(id, op: "connect", args: .object(["address": spec.detail, "timeout_ms": .int(Self.ms(timeout))])) { (managed: ManagedSocket) async throws -> Step<Void> in
            let address = try await resolve(spec, for: managed, field: "address")
            try checkTarget(address, field: "address")
            let deadline = ContinuousClock.now + timeout
            do {
                if try !managed.socket.connect(to: address) {
                    // A loopback handshake is usually complete by the time connect(2) says EINPROGRESS: look first.
                    if !managed.socket.isReady(for: .writable),
                       try await managed.socket.wait(for: .writable, until: deadline) == .timedOut {
                        // Given up: so that it does not complete later while history says it never did.
                        try? managed.socket.abandonConnect()
                        throw SockpitError(.timeout, "connect to \(address) did not complete within \(Self.ms(timeout)) ms; the attempt was abandoned",
                                           errno: Errno.timedOut.name)
                    }
                    if let error = try managed.socket.pendingError() { throw error }
                }
            } catch let error as Errno {
                throw Self.classify(error, op: "connect to \(address)", conflicts: [.socketIsConnected, .alreadyInProcess])
            }
            let local = (try? managed.socket.localAddress()).flatMap { shown($0, of: managed) }?.detail
            let peer = shown(address)?.detail
            let peerCredentials = (try? managed.socket.peerCredentials()).flatMap { $0 }.map(Self.detail(of:))
            var result: [String: Detail] = [:]
            result["local_address"] = local
            result["peer_address"] = peer
            return Step(value: (), result: .object(result)) { record in
                record.state = SocketState.connected.rawValue
                record.localAddress = local
                record.peerAddress = peer
                record.peerCredentials = peerCredentials
            }
        }.1.snapshot
    }

    /// `accept(2)`, waiting up to `timeout`; nil when nothing arrived (a normal answer).
    public func accept(id: String, timeout requested: Duration) async throws -> SocketSnapshot? {
        let timeout = min(requested, policy.maxWait)
        let (accepted, _) = try await perform(id, op: "accept", args: .object(["timeout_ms": .int(Self.ms(timeout))])) { (managed: ManagedSocket) async throws -> Step<SocketRecord?> in
            let deadline = ContinuousClock.now + timeout
            while true {
                let pending: (socket: Socket, peer: SocketAddress)?
                do { pending = try managed.socket.accept() } catch let error as Errno {
                    throw Self.classify(error, op: "accept", conflicts: [.invalidArgument, .notSupported])
                }
                if let (socket, peer) = pending {
                    let child = try await adopt(socket, peer: peer, parent: managed)
                    return Step(value: child, result: .object(["socket_id": .string(child.id)]))
                }
                // Closed meanwhile: a Unix listener shut for reading is readable but has nothing to accept.
                if managed.closing { throw Self.closedWhileWaiting(managed.id, op: "accept") }
                if try await managed.socket.wait(for: .readable, until: deadline) == .timedOut {
                    return Step(value: nil, result: .object(["timed_out": .bool(true)]), outcome: "timeout")
                }
            }
        }
        return try accepted?.snapshot
    }

    /// Registers an accepted connection as a new session with its parent.
    private func adopt(_ socket: Socket, peer: SocketAddress, parent: ManagedSocket) async throws -> SocketRecord {
        guard reserveSlots(1) else {
            try? socket.close()
            throw SockpitError(.limit, "max_open_sockets (\(policy.maxOpenSockets)) reached: the connection was accepted and closed")
        }
        defer { releaseSlots(1) }
        let parentRecord = parent.snapshot()
        let now = UnixTime.nowMicros()
        var record = SocketRecord(id: Identifier.make(prefix: "sk"), family: parentRecord.family, type: parentRecord.type,
                                  protocol: parentRecord.protocol, label: parentRecord.label, state: SocketState.connected.rawValue,
                                  createdAt: now)
        record.parentID = parent.id
        record.netns = parentRecord.netns  // an accepted connection is in its listener's namespace
        record.localAddress = (try? socket.localAddress()).flatMap { shown($0, of: socket) }?.detail
        record.peerAddress = shown(peer)?.detail
        Self.identify(&record, socket)
        let event = EventRecord(at: now, socketID: record.id, op: "accepted", outcome: "ok",
                                args: Detail.object(["parent_id": .string(parent.id)]),
                                result: record.peerAddress.map { .object(["peer_address": $0]) })
        // Open before it is recorded: should history fail after the fact, the socket exists and is queued in it.
        open.withLock { $0[record.id] = ManagedSocket(socket: socket, record: record, namespace: parent.namespace) }
        try await SockpitError.recording("accept (new socket \(record.id))") {
            _ = try await repository.create(record, event: event)
        }
        return record
    }
}

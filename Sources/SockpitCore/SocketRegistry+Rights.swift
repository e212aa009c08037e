import SocketKit
import Storage
import SystemPackage

/// A descriptor that came with a receive (`SCM_RIGHTS`), as the answer and the history report it.
public struct ReceivedRight: Sendable {
    /// "socket", or what it was instead: `pipe`, `file`, `directory`, `eventfd`, `pidfd`, ...
    public var kind: String
    /// The new managed socket it became; nil when it was closed instead.
    public var socketID: String?
    /// The open managed socket that is the same kernel socket (`SO_COOKIE`), when there is one.
    public var sameKernelSocketAs: String?
    /// Why it was closed instead of kept (not a socket, `max_open_sockets` reached); nil when kept.
    public var closed: String?
    /// The kernel's id of the socket (`SO_COOKIE`), to match it with the send that passed it.
    var cookie: String?

    var detail: Detail {
        var members: [String: Detail] = ["kind": .string(kind)]
        if let socketID { members["socket_id"] = .string(socketID) }
        if let sameKernelSocketAs { members["same_kernel_socket_as"] = .string(sameKernelSocketAs) }
        if let closed { members["closed"] = .string(closed) }
        return .object(members)
    }
}

extension SocketRegistry {
    /// Fills in what the kernel says of `socket` for its session row: its cookie (`SO_COOKIE`), and, for a
    /// connected Unix socket, its peer (`SO_PEERCRED`).
    static func identify(_ record: inout SocketRecord, _ socket: Socket) {
        if record.cookie == nil, let cookie = try? socket.cookie() { record.cookie = String(cookie) }
        if let peer = try? socket.peerCredentials() { record.peerCredentials = detail(of: peer) }
    }

    static func detail(of credentials: Credentials) -> Detail {
        .object(["pid": .int(Int64(credentials.pid)), "uid": .int(Int64(credentials.uid)), "gid": .int(Int64(credentials.gid))])
    }

    /// The credentials a stored `{"pid", "uid", "gid"}` holds.
    static func credentials(from detail: Detail) -> Credentials? {
        guard case .object(let members) = detail, case .int(let pid)? = members["pid"], case .int(let uid)? = members["uid"],
              case .int(let gid)? = members["gid"], let pid32 = Int32(exactly: pid), let uid32 = UInt32(exactly: uid),
              let gid32 = UInt32(exactly: gid) else { return nil }
        return Credentials(pid: pid32, uid: uid32, gid: gid32)
    }

    /// The open managed sockets a send passes (`rights`), checked before anything is sent: at most 253
    /// (`SCM_MAX_FD`), only from a Unix socket, never with an empty stream payload (the kernel would queue nothing).
    func socketsToPass(_ ids: [String], from managed: ManagedSocket, payload: Int) throws -> [ManagedSocket] {
        guard !ids.isEmpty else { return [] }
        guard ids.count <= OutgoingControl.maximumRights else {
            throw SockpitError(.invalid, "rights names \(ids.count) sockets; one message carries at most \(OutgoingControl.maximumRights)",
                               field: "rights")
        }
        // What this socket is, not the request, is at fault here: 409, naming the field.
        guard managed.socket.family == .unix else {
            throw SockpitError(.conflict, "rights pass sockets over Unix sockets only; this one is \(managed.socket.family.name)",
                               field: "rights")
        }
        guard payload > 0 || managed.socket.type != .stream else {
            throw SockpitError(.invalid, "rights need at least one byte of data on a stream socket: the kernel queues nothing for a "
                + "send of 0 bytes", field: "rights")
        }
        return try ids.map { id in
            guard let passed = open.withLock({ $0[id] }) else {
                throw SockpitError(.notFound, "rights names socket \(id), which is not an open socket", field: "rights")
            }
            return passed
        }
    }

    /// Notes where a send's rights went (the managed socket whose queue holds them, else the process at the
    /// other end) and answers that for the send's event: `rights_to`, or `rights_to_pid`.
    func follow(_ passed: [ManagedSocket], from sender: ManagedSocket, to destination: SocketAddress?) async -> [String: Detail] {
        let receiver: ManagedSocket?
        if let destination, let shown = shown(destination)?.detail {
            receiver = open.withLock { sockets in sockets.values.first { $0.snapshot().localAddress == shown } }
        } else {
            let cookie: String?
            do { cookie = try await sender.socket.unixPeerCookie(in: sender.namespace).map { String($0) } } catch {
                logger.debug("the peer of a Unix socket could not be found", metadata: ["socket.id": "\(sender.id)", "error": "\(error)"])
                cookie = nil
            }
            receiver = cookie.flatMap { cookie in open.withLock { sockets in sockets.values.first { $0.snapshot().cookie == cookie } } }
        }
        var peerPID: Int64?
        if receiver == nil, case .object(let peer)? = sender.snapshot().peerCredentials, case .int(let pid)? = peer["pid"] { peerPID = pid }
        rightsInFlight.sent(RightsInFlight.Batch(from: sender.id, to: receiver?.id, peerPID: peerPID,
                                                 sockets: passed.map { ($0.id, $0.snapshot().cookie) }))
        if let receiver { return ["rights_to": .string(receiver.id)] }
        return peerPID.map { ["rights_to_pid": .int($0)] } ?? [:]
    }

    /// Takes over the descriptors a receive got: each socket becomes a managed socket of its own, recorded with
    /// what the kernel says it is; anything else, or a socket past `max_open_sockets`, is closed and said so.
    func adopt(rights descriptors: [FileDescriptor], via parent: ManagedSocket) async -> [ReceivedRight] {
        var received: [ReceivedRight] = []
        for descriptor in descriptors {
            let adopted: AdoptedDescriptor
            do { adopted = try Socket.adopt(received: descriptor) } catch {
                received.append(ReceivedRight(kind: "unknown", closed: "could not be examined: \(error.name)"))
                continue
            }
            guard case .socket(let socket) = adopted else {
                if case .notSocket(let kind) = adopted { received.append(ReceivedRight(kind: kind, closed: "not a socket")) }
                continue
            }
            // Every open session keeps its cookie (`identify`): compared there, not with a syscall per open socket.
            let cookie = (try? socket.cookie()).map { String($0) }
            let twin = cookie.flatMap { cookie in
                open.withLock { sockets in sockets.values.first { $0.snapshot().cookie == cookie }?.id }
            }
            guard reserveSlots(1) else {
                try? socket.close()
                received.append(ReceivedRight(kind: "socket", sameKernelSocketAs: twin,
                                              closed: "max_open_sockets (\(policy.maxOpenSockets)) reached", cookie: cookie))
                continue
            }
            defer { releaseSlots(1) }
            let record = Self.receivedRecord(socket, shown: shown, namespaces: policy.namespaces)
            var args: [String: Detail] = ["via_socket": .string(parent.id)]
            if let twin { args["same_kernel_socket_as"] = .string(twin) }
            let event = EventRecord(at: record.createdAt, socketID: record.id, op: "received", outcome: "ok", args: .object(args))
            open.withLock { $0[record.id] = ManagedSocket(socket: socket, record: record, sendRate: policy.raw.sendRate) }
            do {
                _ = try await repository.create(record, event: event)
            } catch {
                // Open and queued in history, as an accepted connection is when its record waits.
                logger.error("recording a received socket failed", metadata: ["socket.id": "\(record.id)", "error": "\(error)"])
            }
            received.append(ReceivedRight(kind: "socket", socketID: record.id, sameKernelSocketAs: twin, cookie: cookie))
        }
        return received
    }

    /// The session row of a socket received from elsewhere: its kind, state and addresses as the kernel has them.
    private static func receivedRecord(_ socket: Socket, shown: (SocketAddress) -> Address?, namespaces: Namespaces) -> SocketRecord {
        let local = try? socket.localAddress()
        let peer = try? socket.peerAddress()
        let state: SocketState
        if (try? socket.isListening()) == true {
            state = .listening
        } else if peer != nil {
            state = .connected
        } else if let local, !Self.isUnbound(local) {
            state = .bound
        } else {
            state = .created
        }
        var record = SocketRecord(
            id: Identifier.make(prefix: "sk"), family: socket.family.name, type: socket.type.name,
            protocol: socket.protocol.name(in: socket.family), label: nil, state: state.rawValue, createdAt: UnixTime.nowMicros())
        record.localAddress = local.map { socket.type == .raw ? $0.withPort(0) : $0 }.flatMap(shown)?.detail
        record.peerAddress = peer.flatMap(shown)?.detail
        identify(&record, socket)
        record.netns = (try? socket.namespaceInode()).flatMap(namespaces.name(ofInode:))
        return record
    }

    /// Whether `getsockname` says the socket has no address yet (port 0 on the unspecified address, an unnamed
    /// Unix socket).
    private static func isUnbound(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let host, let port): host == .any && port == 0
        case .v6(let host, let port, _): host == .any && port == 0
        case .unix(let path): path.isEmpty
        default: false
        }
    }
}

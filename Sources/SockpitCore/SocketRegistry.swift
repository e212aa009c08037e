public import Logging
public import Storage
public import SocketKit
import Synchronization
import SystemPackage
import Glibc

/// The managed sockets of this process: creates them, keeps the open ones, closes them, and records every
/// step in history before the caller hears of it (so an operation answered 2xx is never missing).
public final class SocketRegistry: Sendable {
    let repository: any SocketRepository
    private let events: any EventRepository
    let open = Mutex<[String: ManagedSocket]>([:])
    /// Operations running now (e.g. receives and accepts waiting for their peer).
    let inFlight = Atomic<Int>(0)
    /// Slots of max_open_sockets taken by creations in progress.
    let reservations = Mutex<Int>(0)
    /// Sockets sent with `rights` and not received yet (history says where they sit when a socket closes).
    let rightsInFlight = RightsInFlight()
    /// The rules and limits enforced.
    public let policy: SocketPolicy
    let logger: Logger

    /// Creates an empty registry over the history repositories.
    public init(repository: any SocketRepository & EventRepository, policy: SocketPolicy, logger: Logger) {
        self.repository = repository
        self.events = repository
        self.policy = policy
        self.logger = logger
    }

    private var maxOpenSockets: Int { policy.maxOpenSockets }

    /// At start nothing is open yet, so every session history still shows open belongs to a process that
    /// died: mark them closed with reason `server-crash`. Returns how many.
    @discardableResult
    public func recoverAbandonedSessions() async throws -> Int {
        let ids = try await repository.closeAllOpen(reason: CloseReason.serverCrash, at: UnixTime.nowMicros())
        if !ids.isEmpty { logger.warning("sessions left open by a previous process marked closed", metadata: ["count": "\(ids.count)"]) }
        return ids.count
    }

    /// Creates a socket (`socket(2)`), non-blocking, and records the session; with `netns`, in that network
    /// namespace (`/run/netns/NAME`, when `--allow-netns` allows it) for its whole life.
    public func create(family: String, type: String, protocol: String?, label: String?,
                       options: [(SocketOption, SocketOptionValue)]? = nil, netns: String? = nil) async throws -> SocketSnapshot {
        guard let addressFamily = AddressFamily(name: family), [.inet, .inet6, .unix, .packet, .netlink].contains(addressFamily) else {
            throw SockpitError(.invalid, "family '\(family)' is not one of inet, inet6, unix, packet, netlink", field: "family")
        }
        if addressFamily == .netlink, type != "raw", type != "dgram" {
            throw SockpitError(.invalid, "a netlink socket's type is raw or dgram", field: "type")
        }
        if addressFamily == .packet {
            guard policy.raw.packetSockets else {
                throw SockpitError(.forbidden, "packet sockets are off: they see every frame on an interface and can write any; "
                    + "--allow-packet-sockets turns them on", field: "family")
            }
            guard type == "raw" || type == "dgram" else {
                throw SockpitError(.invalid, "a packet socket's type is raw (whole frames) or dgram (payloads)", field: "type")
            }
        }
        guard let socketType = SocketType(name: type), [.stream, .dgram, .seqpacket, .raw].contains(socketType) else {
            throw SockpitError(.invalid, "type '\(type)' is not one of stream, dgram, seqpacket, raw", field: "type")
        }
        if socketType == .raw, addressFamily != .packet, addressFamily != .netlink {
            guard addressFamily != .unix else {
                throw SockpitError(.invalid, "raw sockets are IP sockets: family inet or inet6", field: "family")
            }
            guard `protocol` != nil, `protocol` != "default" else {
                throw SockpitError(.invalid, "a raw socket needs a protocol: a name (icmp, gre, ...) or a number from 0 to 255",
                                   field: "protocol")
            }
        }
        var protocolName = `protocol` ?? Self.defaultProtocol(family: addressFamily, type: socketType)
        // Protocol names are per family; an IP protocol asked of a Unix socket goes to the kernel as its
        // number, so that the answer is the kernel's own (EPROTONOSUPPORT), not a guess of ours.
        guard let socketProtocol = SocketProtocol(name: protocolName, in: addressFamily)
            ?? (addressFamily == .unix ? SocketProtocol(name: protocolName, in: .inet) : nil) else {
            throw SockpitError(.invalid, "protocol '\(protocolName)' does not exist for family \(family)", field: "protocol")
        }
        if socketType == .raw, addressFamily != .packet, addressFamily != .netlink {
            protocolName = socketProtocol.name(in: addressFamily)
            try policy.raw.check(socketProtocol, named: protocolName)
        }
        try LabelText.validate(label)
        let namespace = try netns.map { try policy.namespaces.open($0) }
        try SockpitError.checkWritable(repository, operation: "create")
        // Reserve the slot now, under the same lock as the count, so concurrent creates cannot overshoot.
        guard reserveSlots(1) else {
            throw SockpitError(.limit, "max_open_sockets (\(maxOpenSockets)) reached: close sockets before creating more")
        }
        var slotHeld = true
        defer { if slotHeld { releaseSlots(1) } }
        let started = UnixTime.nowMicros()
        let socket: Socket
        do {
            socket = try Socket.make(family: addressFamily, type: socketType, protocol: socketProtocol, in: namespace)
        } catch {
            throw SockpitError.system(error, during: "socket(\(family), \(type), \(protocolName))")
        }
        var record = SocketRecord(
            id: Identifier.make(prefix: "sk"), family: family, type: type, protocol: protocolName, label: label,
            state: SocketState.created.rawValue, createdAt: started)
        if addressFamily == .netlink { try? socket.enableExtendedAcknowledgements() }  // errors explained, as `ip` asks
        do { record.netns = try placement(of: socket, meant: namespace) } catch {
            try? socket.close()
            throw error
        }
        Self.identify(&record, socket)
        var arguments: [String: Detail] = ["family": .string(family), "type": .string(type), "protocol": .string(protocolName),
                                           "label": label.map(Detail.string) ?? .null]
        if let netns { arguments["netns"] = .string(netns) }
        let event = EventRecord(at: started, socketID: record.id, op: "create", outcome: "ok",
                                durationUs: UnixTime.nowMicros() - started, args: .object(arguments))
        let managed = ManagedSocket(socket: socket, record: record, namespace: namespace, sendRate: policy.raw.sendRate)
        do {
            _ = try await repository.create(record, event: event)
        } catch let failure as HistoryUnavailable where failure.tookEffect {
            // The socket exists and its history is queued: keep it, and say so.
            open.withLock { $0[record.id] = managed }
            releaseSlots(1)
            slotHeld = false
            throw SockpitError(history: failure, operation: "create (socket \(record.id))")
        } catch {
            try? socket.close()
            logger.error("recording a new socket failed", metadata: ["error": "\(error)"])
            throw SockpitError(.internal, "the socket could not be recorded in history")
        }
        open.withLock { $0[record.id] = managed }
        releaseSlots(1)
        slotHeld = false
        if let options, !options.isEmpty {
            do {
                _ = try await setOptions(id: record.id, options)
                return try managed.snapshot().snapshot
            } catch {
                // A bad option changes nothing the client keeps: the socket is closed again (recorded).
                if let managed = open.withLock({ $0.removeValue(forKey: record.id) }) {
                    try? await finish(managed, reason: CloseReason.createFailed)
                }
                throw error
            }
        }
        logger.debug("socket created", metadata: ["socket.id": "\(record.id)", "socket.kind": "\(family)/\(type)/\(protocolName)"])
        return try record.snapshot
    }

    /// The namespace a new socket is in, as the kernel says (`SIOCGSKNS`), checked against the one it was made
    /// for: a socket made without `netns` that is not in the service's own namespace means a thread was left in
    /// another one, and nothing may be made on it.
    /// Until a namespace thread exists no thread can be in another namespace, and the check is left out (it costs
    /// three syscalls on every create).
    func placement(of socket: Socket, meant namespace: NetworkNamespace?) throws -> String? {
        guard namespace != nil || policy.namespaces.anyEntered else { return nil }
        let inode: UInt64
        do { inode = try socket.namespaceInode() } catch {
            return namespace?.name  // without CAP_NET_ADMIN the kernel does not say; socket(2) ran where asked
        }
        let expected = namespace?.inode ?? Namespaces.processInode
        guard inode == expected else {
            logger.critical("a socket was made in the wrong network namespace", metadata: [
                "netns.expected": "\(namespace?.name ?? "service's own") (\(expected))", "netns.inode": "\(inode)"])
            throw SockpitError(.internal, "the socket was made in the wrong network namespace and was closed")
        }
        return namespace?.name
    }

    /// The session: live state for an open socket, history for a closed one.
    public func get(id: String) async throws -> SocketSnapshot {
        if let managed = open.withLock({ $0[id] }) { return try managed.snapshot().snapshot }
        guard let record = try await repository.find(id: id) else { throw Self.notFound(id) }
        return try record.snapshot
    }

    /// Sessions from history, filtered and paged.
    public func list(_ query: SocketQuery) async throws -> Page<SocketSnapshot> {
        try await repository.list(query).map(SocketSnapshot.init)
    }

    /// A session's events, paged. Unknown ids are 404 rather than an empty list.
    public func events(of id: String, query: EventQuery) async throws -> Page<Event> {
        _ = try await get(id: id)
        var query = query
        query.socketID = id
        return try await events.list(query).map(Event.init)
    }

    /// Takes `count` of the max_open_sockets budget (open sockets plus reservations); false when it is spent.
    func reserveSlots(_ count: Int) -> Bool {
        open.withLock { sockets in
            reservations.withLock { reserved in
                guard sockets.count + reserved + count <= maxOpenSockets else { return false }
                reserved += count
                return true
            }
        }
    }

    /// Returns reserved slots (the socket is now in `open`, or its creation failed).
    func releaseSlots(_ count: Int) {
        reservations.withLock { $0 -= count }
    }

    /// Operations on sockets running now: receives, accepts and connects waiting included.
    public var operationsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Number of sockets open now.
    public var openCount: Int { open.withLock { $0.count } }

    /// The open sockets' ids by their kernel cookie (`SO_COOKIE`, decimal).
    public func openCookies() -> [String: String] {
        var cookies: [String: String] = [:]
        for managed in open.withLock({ Array($0.values) }) {
            if let cookie = managed.snapshot().cookie { cookies[cookie] = managed.id }
        }
        return cookies
    }

    /// Open sockets counted by family, type, state and namespace.
    public func openCounts() -> [OpenSocketCount] {
        var counts: [String: OpenSocketCount] = [:]
        for managed in open.withLock({ Array($0.values) }) {
            let record = managed.snapshot()
            counts[record.family + "/" + record.type + "/" + record.state + "/" + (record.netns ?? ""), default: OpenSocketCount(
                family: record.family, type: record.type, state: record.state, netns: record.netns, count: 0)].count += 1
        }
        return counts.values.sorted {
            ($0.family, $0.type, $0.state ?? "", $0.netns ?? "") < ($1.family, $1.type, $1.state ?? "", $1.netns ?? "")
        }
    }

    static func notFound(_ id: String) -> SockpitError {
        SockpitError(.notFound, "no socket with id '\(id)'", field: "id")
    }

    private static func defaultProtocol(family: AddressFamily, type: SocketType) -> String {
        if family == .packet { return "all" }
        if family == .netlink { return "route" }
        guard family == .inet || family == .inet6 else { return "default" }
        switch type {
        case .stream: return "tcp"
        case .dgram: return "udp"
        default: return "sctp"
        }
    }
}

public import SocketKit
import Synchronization

/// What raw IP sockets may do. A client that can open one crafts packets: which protocols it may open, whether a
/// header it writes may carry a source that is not one of this host's addresses, and how fast one socket sends are
/// the service's rules, shown in capabilities and named in every refusal.
public struct RawSocketPolicy: Sendable {
    /// The protocols raw sockets may be opened for (names or numbers; `*` for all). Empty: raw sockets are off.
    public var protocols: [String]
    /// Whether a header written with `ip_hdrincl` may carry a source address that is not one of the host's (or
    /// the socket's namespace's) own.
    public var allowSpoofing: Bool
    /// Packets one raw or packet socket may send per second (a burst of as many, then this rate).
    public var sendRate: Int
    /// Whether packet sockets (`family: packet`) may be opened: they see every frame on an interface and can
    /// write any at layer 2.
    public var packetSockets: Bool
    /// Whether managed netlink sockets may send the kernel requests that change something (RTM_NEW*, RTM_DEL*, ...).
    public var netlinkWrites: Bool

    /// Creates a policy; the defaults keep raw and packet sockets and netlink writes off.
    public init(protocols: [String] = [], allowSpoofing: Bool = false, sendRate: Int = 1000, packetSockets: Bool = false,
                netlinkWrites: Bool = false) {
        self.netlinkWrites = netlinkWrites
        self.protocols = protocols
        self.allowSpoofing = allowSpoofing
        self.sendRate = sendRate
        self.packetSockets = packetSockets
    }

    /// Whether `name` names an IP protocol (a name this service or /etc/protocols knows, or 0...255).
    public static func names(_ name: String) -> Bool { SocketProtocol(name: name, in: .inet) != nil }

    /// Throws 403 unless `protocol` is allowed, naming the rule.
    func check(_ proto: SocketProtocol, named name: String) throws {
        if protocols.contains("*") { return }
        let allowed = protocols.compactMap { SocketProtocol(name: $0, in: .inet) }
        guard !allowed.contains(proto) else { return }
        let how = protocols.isEmpty ? "raw sockets are off; --raw-protocols NAME,... (or *) turns them on"
            : "--raw-protocols allows \(protocols.joined(separator: ", "))"
        throw SockpitError(.forbidden, "a raw socket for protocol \(name) is not allowed: \(how)", field: "protocol")
    }
}

/// A token bucket: at most `rate` sends per second, after a burst of as many.
final class SendBudget: Sendable {
    private let rate: Double
    private let state: Mutex<(tokens: Double, at: ContinuousClock.Instant)>

    init(rate: Int) {
        self.rate = Double(max(rate, 1))
        state = Mutex((Double(max(rate, 1)), ContinuousClock.now))
    }

    /// Takes one send's token; false when the bucket is empty.
    func take() -> Bool {
        state.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - state.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(rate, state.tokens + seconds * rate)
            state.at = now
            guard state.tokens >= 1 else { return false }
            state.tokens -= 1
            return true
        }
    }
}

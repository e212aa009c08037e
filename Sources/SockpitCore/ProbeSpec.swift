public import Storage
public import SocketKit

/// A probe request after validation: what to probe, how, and the request as it is stored.
public struct ProbeSpec: Sendable {
    /// tcp | udp | icmp | unix.
    public var kind: String
    /// The target as the client gave it.
    public var target: String
    /// Ports (tcp, udp), sorted, unique.
    public var ports: [UInt16]
    /// Echo requests (icmp) or attempts per port.
    public var count: Int
    /// Pause between echoes or attempts.
    public var interval: Duration
    /// Per port or echo.
    public var timeout: Duration
    /// Ports in flight at once.
    public var concurrency: Int
    public var payload: [UInt8]?
    public var expect: ProbeExpectation?
    public var readBanner: Bool
    public var ttl: Int?
    /// ICMP payload bytes.
    public var size: Int
    /// Preferred family when a name resolves to both.
    public var family: AddressFamily?
    /// The network namespace to probe from; nil: the service's own.
    public var netns: String?
    /// traceroute: udp, tcp or icmp.
    public var method: String?
    /// traceroute: the first and last TTL tried.
    public var firstHop = 1
    public var maxHops = 30
    /// The request as given, for the history.
    public var request: Detail

    /// Creates a spec; `ProbeSpec.parsePorts` turns the API's port forms into `ports`.
    public init(kind: String, target: String, ports: [UInt16], count: Int, interval: Duration, timeout: Duration,
                concurrency: Int, payload: [UInt8]?, expect: ProbeExpectation?, readBanner: Bool, ttl: Int?, size: Int,
                family: AddressFamily?, netns: String? = nil, request: Detail) {
        self.netns = netns
        self.kind = kind
        self.target = target
        self.ports = ports
        self.count = count
        self.interval = interval
        self.timeout = timeout
        self.concurrency = concurrency
        self.payload = payload
        self.expect = expect
        self.readBanner = readBanner
        self.ttl = ttl
        self.size = size
        self.family = family
        self.request = request
    }

    /// Parses "22,80,8000-8100" (or a single number) into sorted unique ports; the error names `field`.
    public static func parsePorts(_ text: String, field: String) throws -> [UInt16] {
        var ports = Set<UInt16>()
        for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = piece.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!) else {
                throw SockpitError(.invalid, "\(field): '\(piece)' is not a port or a range like 8000-8100", field: field)
            }
            guard (1...65535).contains(low), (1...65535).contains(high) else {
                throw SockpitError(.invalid, "\(field): ports are 1 to 65535, '\(piece)' is not", field: field)
            }
            guard low <= high else {
                throw SockpitError(.invalid, "\(field): range '\(piece)' runs backwards", field: field)
            }
            for port in low...high { ports.insert(UInt16(port)) }
        }
        return ports.sorted()
    }
}

/// What a reply must contain.
public enum ProbeExpectation: Sendable {
    /// A regular expression over the reply read as UTF-8, matched in linear time (`LinearRegex`).
    case regex(LinearRegex)
    /// Bytes the reply must contain.
    case contains([UInt8])

    /// Validates a regular expression now, so a bad one is a 400 rather than a failed probe.
    public static func compiled(regex pattern: String, field: String) throws -> ProbeExpectation {
        do { return .regex(try LinearRegex(pattern)) } catch {
            throw SockpitError(.invalid, "\(field) is not a regular expression this service takes: \(error.message)", field: field)
        }
    }

    /// The matcher the probe mechanics feed a reply to, as it arrives.
    var matcher: ByteMatcher {
        switch self {
        case .regex(let regex):
            return ByteMatcher {
                var scanner = LinearRegex.Scanner(regex)
                return { bytes in scanner.feed(bytes) }
            }
        case .contains(let needle):
            return ByteMatcher {
                // Only the last needle.count - 1 bytes can start a match that the next piece completes.
                var tail: [UInt8] = []
                return { bytes in
                    guard !needle.isEmpty else { return true }
                    let window = tail + bytes
                    if Self.find(needle, in: window) { return true }
                    tail = Array(window.suffix(needle.count - 1))
                    return false
                }
            }
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}

/// The limits of the probe runner, shown in capabilities.
public struct ProbeLimits: Sendable {
    public var maxPortsPerProbe: Int
    public var maxConcurrentProbes: Int
    public var deadline: Duration
    /// Most sockets one probe holds at once (its `concurrency`): its share of the descriptors the process may
    /// open, so that probes running together never take the ones connections and managed sockets need
    /// (`ServiceLimits.claimDescriptors`).
    public var maxConcurrency: Int

    /// The largest `concurrency` a request may ask for, whatever the descriptors allow.
    public static let concurrencyCeiling = 4096
    /// The `concurrency` of a probe that names none (less when `maxConcurrency` is lower).
    public static let defaultConcurrency = 512

    /// Creates the limits; the defaults are the service's embedded defaults.
    public init(maxPortsPerProbe: Int = 65535, maxConcurrentProbes: Int = 16, deadline: Duration = .seconds(120),
                maxConcurrency: Int = ProbeLimits.concurrencyCeiling) {
        self.maxPortsPerProbe = maxPortsPerProbe
        self.maxConcurrentProbes = maxConcurrentProbes
        self.deadline = deadline
        self.maxConcurrency = maxConcurrency
    }
}

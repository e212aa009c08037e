import Glibc
import Synchronization
import SystemPackage

/// Why a name lookup failed: a `getaddrinfo(3)` code (these are not errno numbers), its name and message.
public struct ResolveError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `EAI_*` code, negative as glibc defines it (`EAI_NONAME` is -2).
    public let code: Int32
    /// The code's C name (`"EAI_NONAME"`); an unknown code answers `"EAI <n>"`.
    public let name: String
    /// The C library's message (`gai_strerror`); for `EAI_SYSTEM`, followed by the errno's own message.
    public let message: String

    /// Describes a `getaddrinfo` code; `systemError` is the errno that goes with `EAI_SYSTEM`.
    init(code: Int32, systemError: CInt = 0) {
        self.code = code
        name = Self.names[code] ?? "EAI \(code)"
        let text = String(cString: gai_strerror(code))
        message = code == EAI_SYSTEM && systemError != 0 ? "\(text): \(Errno(rawValue: systemError).message)" : text
    }

    /// The lookup's task was cancelled; the lookup itself cannot be stopped and its answer is dropped.
    /// The corresponding C constant is `EAI_CANCELED` (-101, a GNU extension).
    static let cancelled = ResolveError(code: -101)

    /// `"EAI_NONAME: Name or service not known"`.
    public var description: String { "\(name): \(message)" }

    private static let names: [Int32: String] = [
        -1: "EAI_BADFLAGS", -2: "EAI_NONAME", -3: "EAI_AGAIN", -4: "EAI_FAIL", -5: "EAI_NODATA", -6: "EAI_FAMILY",
        -7: "EAI_SOCKTYPE", -8: "EAI_SERVICE", -9: "EAI_ADDRFAMILY", -10: "EAI_MEMORY", -11: "EAI_SYSTEM",
        -12: "EAI_OVERFLOW", -100: "EAI_INPROGRESS", -101: "EAI_CANCELED", -102: "EAI_NOTCANCELED",
        -103: "EAI_ALLDONE", -104: "EAI_INTR", -105: "EAI_IDN_ENCODE",
    ]
}

/// Host names to addresses with `getaddrinfo(3)`, which blocks (files, DNS with its timeouts).
///
/// Each lookup of a name runs on a thread of its own, never on the caller's nor on a shared pool that
/// a slow resolver could exhaust (STYLE.md rule 10); the awaiting task holds no thread. Numeric hosts
/// take no thread: `AI_NUMERICHOST` never consults NSS or the network.
public enum Resolver {
    /// getaddrinfo, run on a background thread (never on the caller's: it blocks) — e.g. a detached pthread or DispatchQueue.global + continuation. Numeric hosts return at once without a thread hop.
    ///
    /// Every address comes back with `port`, once each, in `getaddrinfo`'s (RFC 6724) order; `family`
    /// `nil` asks for both IPv4 and IPv6. No `AI_ADDRCONFIG`: a loopback-only host still gets `::1`.
    /// Cancelling the task ends the wait at once with `EAI_CANCELED`.
    public static func resolve(
        host: String, port: UInt16, family: AddressFamily?, type: SocketType
    ) async throws(ResolveError) -> [SocketAddress] {
        let query = Query(host: host, port: port, family: family, type: type)
        if (try? SocketAddress(host: host, port: 0)) != nil {
            return try query.run(numericOnly: true).get()
        }
        let lookup = Lookup(query)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { lookup.start($0) }
        } onCancel: {
            lookup.finish(.failure(.cancelled))
        }
        return try result.get()
    }

    /// One `getaddrinfo` call's arguments.
    struct Query: Sendable {
        /// The name or numeric address to look up.
        let host: String
        /// The port every answer gets.
        let port: UInt16
        /// `nil` for both IPv4 and IPv6.
        let family: AddressFamily?
        /// The socket type the answers are for (`ai_socktype`), so each address comes once.
        let type: SocketType

        /// Calls `getaddrinfo`, blocking unless `numericOnly`.
        func run(numericOnly: Bool) -> Result<[SocketAddress], ResolveError> {
            var hints = addrinfo()
            hints.ai_family = family?.rawValue ?? AF_UNSPEC
            hints.ai_socktype = type.rawValue
            hints.ai_flags = numericOnly ? AI_NUMERICHOST : 0
            // No service: glibc refuses any for SOCK_RAW (EAI_SERVICE); the port is set on each answer instead.
            var list: UnsafeMutablePointer<addrinfo>?
            let code = getaddrinfo(host, nil, &hints, &list)
            let systemError = Glibc.errno
            guard code == 0 else { return .failure(ResolveError(code: code, systemError: systemError)) }
            defer { freeaddrinfo(list) }
            var addresses: [SocketAddress] = []
            var entry = list
            while let info = entry?.pointee {
                entry = info.ai_next
                guard let address = info.ai_addr.flatMap({ Self.decode($0, length: info.ai_addrlen, port: port) }),
                      !addresses.contains(address) else { continue }
                addresses.append(address)
            }
            return .success(addresses)
        }

        /// An entry of a family ``SocketAddress`` does not model is skipped rather than failing the lookup.
        private static func decode(_ address: UnsafePointer<sockaddr>, length: socklen_t, port: UInt16) -> SocketAddress? {
            var storage = sockaddr_storage()
            let count = min(Int(length), MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: count)) }
            switch try? SocketAddress(storage: storage, length: socklen_t(count)) {
            case .v4(let host, _): return .v4(host: host, port: port)
            case .v6(let host, _, let scopeID): return .v6(host: host, port: port, scopeID: scopeID)
            default: return nil
            }
        }
    }

    /// A lookup in flight: hands its answer to the waiting task exactly once, whether it comes from the
    /// thread or from cancellation first.
    private final class Lookup: Sendable {
        private enum State {
            case idle
            case waiting(CheckedContinuation<Result<[SocketAddress], ResolveError>, Never>)
            case cancelledEarly
            case done
        }

        private let query: Query
        private let state = Mutex(State.idle)

        init(_ query: Query) { self.query = query }

        /// Starts the thread, unless the task was cancelled before it got here.
        func start(_ continuation: CheckedContinuation<Result<[SocketAddress], ResolveError>, Never>) {
            let proceed = state.withLock { state in
                if case .cancelledEarly = state { return false }
                state = .waiting(continuation)
                return true
            }
            guard proceed else { return continuation.resume(returning: .failure(.cancelled)) }
            do { try DetachedThread.start { self.finish(self.query.run(numericOnly: false)) } } catch {
                finish(.failure(ResolveError(code: EAI_SYSTEM, systemError: error.rawValue)))
            }
        }

        /// Delivers the first result to arrive; later ones are dropped.
        func finish(_ result: Result<[SocketAddress], ResolveError>) {
            let continuation = state.withLock { state -> CheckedContinuation<Result<[SocketAddress], ResolveError>, Never>? in
                switch state {
                case .idle:
                    state = .cancelledEarly
                    return nil
                case .waiting(let continuation):
                    state = .done
                    return continuation
                case .cancelledEarly, .done:
                    return nil
                }
            }
            continuation?.resume(returning: result)
        }
    }
}

public import SystemPackage
import SocketKit

/// A domain failure, with what a client needs to act on it. The API layer maps `kind` to an HTTP status and
/// a problem `type`; the domain knows nothing of HTTP.
public struct SockpitError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, stable for scripts to branch on.
    public enum Kind: String, Sendable, CaseIterable {
        /// A field of the request is invalid (`field` names it).
        case invalid
        /// No such resource.
        case notFound = "not-found"
        /// The operation is not valid in the resource's current state (`state` says which).
        case conflict
        /// Not permitted (privileges, policy).
        case forbidden
        /// A configured limit was reached.
        case limit
        /// A payload is over a configured size limit.
        case tooLarge = "too-large"
        /// The host ran out of a resource (descriptors, memory); retry later.
        case unavailable
        /// This kernel does not support the requested kind.
        case unsupported
        /// The network said no (refused, unreachable, reset).
        case network
        /// A deadline passed.
        case timeout
        /// History cannot be written: the disk (or a quota) is full.
        case storageFull = "insufficient-storage"
        /// Anything else: a bug or a storage failure.
        case `internal`
    }

    public var kind: Kind
    public var detail: String
    public var field: String?
    public var errno: String?
    public var state: String?
    /// For a failure to record history: whether the operation happened all the same (its history is queued).
    public var tookEffect: Bool?

    /// Creates an error.
    public init(_ kind: Kind, _ detail: String, field: String? = nil, errno: String? = nil, state: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.field = field
        self.errno = errno
        self.state = state
    }

    /// A kernel failure of `operation`, classified by its errno.
    public static func system(_ errno: Errno, during operation: String) -> Self {
        let kind: Kind
        switch errno {
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem, .noBufferSpace, .noMemory: kind = .unavailable
        case .addressFamilyNotSupported, .protocolNotSupported, .socketTypeNotSupported, .notSupported,
             .protocolFamilyNotSupported:
            kind = .unsupported
        case .permissionDenied, .notPermitted: kind = .forbidden
        case .connectionRefused, .networkUnreachable, .noRouteToHost, .connectionReset, .brokenPipe,
             .connectionAbort, .networkDown, .hostIsDown:
            kind = .network
        case .timedOut: kind = .timeout
        default: kind = .invalid
        }
        return Self(kind, "\(operation) failed: \(errno.message) (\(errno.name))", errno: errno.name)
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}

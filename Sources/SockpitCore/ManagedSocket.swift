import SocketKit
import Storage
import Synchronization
import SystemPackage

/// An open socket and its session row, kept in memory while open.
final class ManagedSocket: Sendable {
    let id: String
    let socket: Socket
    /// The network namespace it was made in, when not the service's own: names and interfaces are looked up there.
    let namespace: NetworkNamespace?
    private let record: Mutex<SocketRecord>
    /// A raw or packet socket's sends per second (`--raw-send-rate`); nil for other kinds.
    let sendBudget: SendBudget?
    /// Orders the calls on this socket (STYLE.md: calls on one socket are ordered).
    let lock = AsyncLock()
    /// The filesystem name this socket bound, unlinked when it closes.
    let boundPath = Mutex<String?>(nil)
    private let sawEOF = Atomic<Bool>(false)
    private let closeRequested = Atomic<Bool>(false)

    /// A client asked to close it: an operation still waiting on it ends (see `SocketRegistry.close`).
    var closing: Bool {
        get { closeRequested.load(ordering: .relaxed) }
        set { closeRequested.store(newValue, ordering: .relaxed) }
    }

    /// The peer is gone: the connection was reset or a send met a broken pipe (an end of file alone only
    /// means the peer stopped writing).
    var peerClosed: Bool {
        get { sawEOF.load(ordering: .relaxed) }
        set { sawEOF.store(newValue, ordering: .relaxed) }
    }

    init(socket: Socket, record: SocketRecord, namespace: NetworkNamespace? = nil, sendRate: Int? = nil) {
        self.id = record.id
        self.socket = socket
        self.namespace = namespace
        self.sendBudget = socket.type == .raw || socket.family == .packet ? SendBudget(rate: sendRate ?? 1) : nil
        self.record = Mutex(record)
    }

    func snapshot() -> SocketRecord { record.withLock { $0 } }

    /// Runs `body` where this socket's interfaces and names are: on its namespace's thread, or here.
    func inNamespace<T: Sendable>(_ body: @escaping @Sendable () throws(Errno) -> T) throws(Errno) -> T {
        try NetworkNamespace.run(in: namespace, body)
    }

    /// The index of the interface named `name` in this socket's namespace; 409 naming `field` when there is none.
    func interfaceIndex(named name: String, field: String) throws -> UInt32 {
        do throws(Errno) { return try inNamespace { () throws(Errno) in try Socket.interfaceIndex(named: name) } } catch {
            throw SockpitError(.conflict, "\(field): no interface named '\(name)' in this socket's network namespace (\(error.name))",
                               field: field, errno: error.name)
        }
    }

    /// The name of the interface with `index` in this socket's namespace, nil when there is none.
    func interfaceName(index: UInt32) -> String? {
        (try? inNamespace { Socket.interfaceName(index: index) }) ?? nil
    }

    /// Applies a change to the row and returns the new row.
    func update(_ change: (inout SocketRecord) -> Void) -> SocketRecord {
        record.withLock { row in
            change(&row)
            return row
        }
    }
}

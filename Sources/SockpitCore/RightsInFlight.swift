import Glibc
import Storage
import Synchronization

/// Sockets sent with `rights` that no receive has taken yet: the kernel keeps them in the receiving socket's
/// queue, where no syscall shows them, so the registry keeps this account to let history say where they sit
/// when a socket involved closes (the sender, the receiver, or the passed socket itself).
final class RightsInFlight: Sendable {
    /// One send's rights, in the order sent.
    struct Batch: Sendable {
        /// The managed socket that sent them.
        var from: String
        /// The managed socket whose receive queue holds them; nil when that is not one of ours.
        var to: String?
        /// Who holds the other end when it is not ours (`SO_PEERCRED` of the sender), else nil.
        var peerPID: Int64?
        /// The passed sockets: their ids and kernel cookies.
        var sockets: [(id: String, cookie: String?)]
    }

    /// Batches kept at most; past it the oldest is forgotten (its receiver is outside, or never reads).
    static let capacity = 4096
    private let batches = Mutex<[Batch]>([])

    /// Notes a send's rights.
    func sent(_ batch: Batch) {
        batches.withLock { batches in
            if batches.count >= Self.capacity { batches.removeFirst() }
            batches.append(batch)
        }
    }

    /// A receive on `receiver` took one message's rights (`cookies` of those kept, possibly none when the
    /// control data was truncated): the oldest batch queued there that holds them is no longer in flight.
    func received(at receiver: String, cookies: [String]) {
        batches.withLock { batches in
            let wanted = Set(cookies)
            guard let index = batches.firstIndex(where: { batch in
                batch.to == receiver && wanted.isSubset(of: Set(batch.sockets.compactMap(\.cookie)))
            }) else { return }
            batches.remove(at: index)
        }
    }

    /// What the close of `id` leaves in flight, for its close event: rights queued at it are discarded with its
    /// queue; rights it sent, or that pass it, stay queued at their receiver (or went to an outside process,
    /// which Sockpit follows no further). Nil when nothing involves it.
    ///
    /// Each entry: `socket_id` (the passed socket), `from`, `to` (when ours), `peer_pid`, and `fate`:
    /// `discarded`, `queued`, `outside` or `untracked`.
    func closing(_ id: String) -> Detail? {
        let involved: [Batch] = batches.withLock { batches in
            let involved = batches.filter { $0.to == id || $0.from == id || $0.sockets.contains { $0.id == id } }
            batches.removeAll { $0.to == id || ($0.from == id && $0.to == nil) }
            return involved
        }
        guard !involved.isEmpty else { return nil }
        var entries: [Detail] = []
        for batch in involved {
            // `outside`: another process holds the receiving end; `untracked`: where they went is not known
            // (the kernel has no unix_diag, or a datagram went to a name no managed socket has).
            let outside = batch.peerPID.map { $0 != Int64(getpid()) } ?? false
            let fate = batch.to == id ? "discarded" : batch.to != nil ? "queued" : outside ? "outside" : "untracked"
            for socket in batch.sockets where batch.to == id || batch.from == id || socket.id == id {
                var entry: [String: Detail] = ["socket_id": .string(socket.id), "from": .string(batch.from), "fate": .string(fate)]
                if let to = batch.to { entry["to"] = .string(to) }
                if let pid = batch.peerPID { entry["peer_pid"] = .int(pid) }
                entries.append(.object(entry))
            }
        }
        return .array(entries)
    }
}

import Synchronization

/// The requests in flight, for shutdown to find (streams to end, suspended connections to answer).
///
/// Every request is added on arrival and removed on completion, by whichever daemon thread serves it. Under
/// one lock the two threads met there on every request, and a holder preempted by the load generator (2 cores)
/// left the other spinning: `_lockSlow` was 7 % of a `GET /v1/sockets/{id}` profile. The registry is split
/// into shards by the context's address, so two threads rarely want the same lock.
final class RequestRegistry: Sendable {
    private final class Shard: Sendable {
        let requests = Mutex<[ObjectIdentifier: RequestContext]>([:])
    }

    private static let shardCount = 16
    private let shards = (0..<RequestRegistry.shardCount).map { _ in Shard() }

    private func shard(_ key: ObjectIdentifier) -> Shard {
        // Objects are 16-byte aligned: drop the low bits that never vary.
        shards[Int((UInt(bitPattern: key) >> 4) & UInt(Self.shardCount - 1))]
    }

    /// Adds a request that arrived.
    func insert(_ context: RequestContext) {
        let key = ObjectIdentifier(context)
        shard(key).requests.withLock { $0[key] = context }
    }

    /// Removes a request that completed.
    func remove(_ context: RequestContext) {
        let key = ObjectIdentifier(context)
        shard(key).requests.withLock { _ = $0.removeValue(forKey: key) }
    }

    /// Every request in flight now.
    var all: [RequestContext] { shards.flatMap { $0.requests.withLock { Array($0.values) } } }

    /// True when no request is in flight.
    var isEmpty: Bool { shards.allSatisfy { $0.requests.withLock { $0.isEmpty } } }
}

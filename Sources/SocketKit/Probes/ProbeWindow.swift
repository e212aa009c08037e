import Glibc
import SystemPackage

/// What starting the probe of one port gave.
enum ProbeStart<Pending: Sendable> {
    /// The verdict is in already (loopback often answers within the syscall).
    case finished(PortResult)
    /// An answer is awaited: finishing it takes a slot of the window.
    case pending(Pending)
    /// No descriptor or port for it right now (`EMFILE`, `EADDRNOTAVAIL`, …): start it again once a slot frees up.
    case starved(Errno)
}

/// Local shortages that end when other sockets of the same scan close.
let probeShortages: Set<Errno> = [
    Errno(rawValue: EMFILE), Errno(rawValue: ENFILE), Errno(rawValue: EADDRNOTAVAIL), .noBufferSpace,
]

/// The verdict on a port whose probe socket failed with `error`: refused is closed, a local shortage leaves the
/// port untested (it says nothing of the target), anything else — a timeout, an ICMP error, a local firewall's
/// `EPERM` — is filtered. `rtt` is dropped for a timeout (no answer).
func failedPort(_ port: UInt16, _ error: Errno, _ rtt: Duration?) -> PortResult {
    if error == .connectionRefused { return PortResult(port: port, state: .closed, rtt: rtt, errno: error.name) }
    if probeShortages.contains(error) { return PortResult(port: port, state: .untested, errno: error.name) }
    return PortResult(port: port, state: .filtered, rtt: error == .timedOut ? nil : rtt, errno: error.name)
}

/// The sliding window of a port scan: ports started in order, at most `window` of them awaiting an answer.
///
/// A verdict `start` reaches at once costs no task and no slot; each pending one finishes in a child task
/// parked on the ``Reactor``, and the next port starts as soon as a slot frees up, so the window stays
/// full. Results are in the order of `indices`. Ports not started because the task was cancelled are
/// filtered with `ECANCELED`; a starved port with nothing in flight to wait for is untested, with its errno.
func runProbeWindow<Pending: Sendable>(
    ports: [UInt16], indices: StrideTo<Int>, window: Int,
    start: (_ port: UInt16) -> ProbeStart<Pending>,
    finish: @escaping @Sendable (Pending) async -> PortResult
) async -> [PortResult] {
    var results = [PortResult?](repeating: nil, count: indices.underestimatedCount)
    await withTaskGroup(of: (Int, PortResult).self) { group in
        var inFlight = 0
        probing: for (slot, index) in indices.enumerated() {
            // A loopback scan answers synchronously for thousands of ports: let other tasks run meanwhile.
            if slot & 255 == 255 { await Task.yield() }
            let port = ports[index]
            while true {
                if Task.isCancelled {
                    results[slot] = PortResult(port: port, state: .filtered, errno: Errno.canceled.name)
                    continue probing
                }
                switch start(port) {
                case .finished(let result):
                    results[slot] = result
                case .pending(let pending):
                    group.addTask { (slot, await finish(pending)) }
                    inFlight += 1
                case .starved(let error) where inFlight == 0:
                    results[slot] = failedPort(port, error, nil)
                case .starved:
                    if let (done, result) = await group.next() { results[done] = result }
                    inFlight -= 1
                    continue  // the same port again, now that a socket was closed
                }
                break
            }
            while inFlight >= window, let (done, result) = await group.next() {
                results[done] = result
                inFlight -= 1
            }
        }
        while let (done, result) = await group.next() { results[done] = result }
    }
    return results.map { $0! }
}

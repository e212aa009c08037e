import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `GET /v1/host/events`.
    func streamHostEvents(_ input: Operations.StreamHostEvents.Input) async throws -> Operations.StreamHostEvents.Output {
        let kinds = input.query.groups.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? ["link", "address", "route", "neighbour"]
        let known: Set = ["link", "address", "route", "neighbour"]
        guard !kinds.isEmpty, kinds.allSatisfy(known.contains), (input.query.groups?.count ?? 0) <= 64 else {
            throw APIProblem.validation("groups lists link, address, route or neighbour, comma-separated", field: "groups")
        }
        if let size = input.query.receiveBuffer, !(1024...16_777_216).contains(size) {
            throw APIProblem.validation("receive_buffer must be between 1024 and 16777216 bytes, got \(size)", field: "receive_buffer")
        }
        let admission = try runtime.admitStream()
        let watch = try runtime.host.watch(netns: input.query.netns, kinds: kinds, receiveBuffer: input.query.receiveBuffer)
        let stream = HostEventStream(runtime: runtime, watch: watch, netns: input.query.netns, kinds: kinds, admission: admission)
        return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown, iterationBehavior: .single))))
    }
}

/// The bytes of a host event stream: a greeting, then each batch of changes as SSE events, an overrun and its
/// snapshots when the kernel dropped changes, heartbeats while idle, and `end` when the server stops it.
struct HostEventStream: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let runtime: SockpitRuntime
    let watch: HostNetwork.Watch
    let netns: String?
    let kinds: [String]
    /// The stream's slot among `--sse-max-subscribers`, given back when the stream goes.
    let admission: StreamAdmission

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    struct AsyncIterator: AsyncIteratorProtocol {
        let stream: HostEventStream
        var greeted = false
        var done = false
        var names: [Int: String] = [:]
        let started = ContinuousClock.now
        var lastWrite = ContinuousClock.now
        /// When the snapshot owed after an overrun is to be taken (again, when the table kept changing under it).
        var snapshotDue: ContinuousClock.Instant?

        mutating func next() async throws -> ArraySlice<UInt8>? {
            if done { return nil }
            if !greeted {
                greeted = true
                names = (try? await stream.runtime.host.interfaceNames(netns: stream.netns)) ?? [:]
                lastWrite = .now
                return ArraySlice("retry: 2000\n: connected\n\n".utf8)
            }
            let settings = stream.runtime.streamSettings
            while true {
                if stream.runtime.hub.isShutDown { return end("server-shutdown") }
                let expiry = settings.maxDuration.map { started + $0 }
                if let expiry, ContinuousClock.now >= expiry { return end("max-duration") }
                if let due = snapshotDue, ContinuousClock.now >= due {
                    do {
                        let chunk = try await snapshots()
                        snapshotDue = nil
                        lastWrite = .now
                        return chunk
                    } catch {
                        snapshotDue = .now + .milliseconds(200)  // still changing: changes go on meanwhile, then try again
                    }
                }
                // Wake for the next heartbeat, the stream's end, at least every second to notice a shutdown, and for
                // an owed snapshot.
                var deadline = Swift.min(lastWrite + settings.heartbeatInterval, ContinuousClock.now + .seconds(1))
                if let expiry { deadline = Swift.min(deadline, expiry) }
                if let due = snapshotDue { deadline = Swift.min(deadline, due) }
                switch try await stream.watch.next(until: deadline) {
                case .changes(let changes):
                    guard let chunk = encode(changes) else { continue }
                    lastWrite = .now
                    return chunk
                case .overrun:
                    lastWrite = .now
                    snapshotDue = .now
                    try stream.watch.discardQueued()  // older than the snapshot, and the kernel says the next drop again
                    return ArraySlice("event: overrun\ndata: {\"reason\":\"the kernel dropped changes (ENOBUFS)\"}\n\n".utf8)
                case .idle:
                    if ContinuousClock.now >= lastWrite + settings.heartbeatInterval {
                        lastWrite = .now
                        return ArraySlice(": heartbeat\n\n".utf8)
                    }
                }
            }
        }

        private mutating func end(_ reason: String) -> ArraySlice<UInt8> {
            done = true
            return ArraySlice("event: end\ndata: {\"reason\":\"\(reason)\"}\n\n".utf8)
        }

        /// The whole view of each kind followed, an `event: snapshot` each.
        private mutating func snapshots() async throws -> ArraySlice<UInt8> {
            var bytes: [UInt8] = []
            let host = stream.runtime.host
            let links = try await host.links(netns: stream.netns)
            names = Dictionary(links.map { ($0.index, $0.name) }) { first, _ in first }
            for kind in stream.kinds {
                let items: Data
                switch kind {
                case "link": items = try HostEventStream.encoder.encode(links.map { APIHandler.schema($0, names: names) })
                case "address": items = try HostEventStream.encoder.encode(try await host.addresses(netns: stream.netns).map { APIHandler.schema($0.0, ifname: $0.ifname) })
                case "route": items = try HostEventStream.encoder.encode(try await host.routes(netns: stream.netns).map { APIHandler.schema($0.0, dev: $0.dev) })
                default: items = try HostEventStream.encoder.encode(try await host.neighbours(netns: stream.netns).map { APIHandler.schema($0.0, dev: $0.dev) })
                }
                bytes += "event: snapshot\ndata: {\"items\":".utf8
                bytes += items
                bytes += ",\"kind\":\"\(kind)\"}\n\n".utf8
            }
            return bytes[...]
        }

        /// One SSE event per change: `event: KIND` and `{"action", "item"}`.
        private mutating func encode(_ changes: [RouteChange]) -> ArraySlice<UInt8>? {
            var bytes: [UInt8] = []
            for change in changes {
                let kind: String
                let deleted: Bool
                let item: Data?
                switch change {
                case .link(let gone, let link):
                    if gone { names[link.index] = nil } else { names[link.index] = link.name }
                    (kind, deleted, item) = ("link", gone, try? HostEventStream.encoder.encode(APIHandler.schema(link, names: names)))
                case .address(let gone, let address):
                    (kind, deleted, item) = ("address", gone, try? HostEventStream.encoder.encode(APIHandler.schema(address, ifname: names[address.index])))
                case .route(let gone, let route):
                    (kind, deleted, item) = ("route", gone, try? HostEventStream.encoder.encode(APIHandler.schema(route, dev: route.deviceIndex.flatMap { names[$0] })))
                case .neighbour(let gone, let neighbour):
                    (kind, deleted, item) = ("neighbour", gone, try? HostEventStream.encoder.encode(APIHandler.schema(neighbour, dev: names[neighbour.deviceIndex])))
                }
                guard let item, stream.kinds.contains(kind) else { continue }
                bytes += "event: \(kind)\ndata: {\"action\":\"\(deleted ? "del" : "new")\",\"item\":".utf8
                bytes += item
                bytes += "}\n\n".utf8
            }
            return bytes.isEmpty ? nil : bytes[...]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}

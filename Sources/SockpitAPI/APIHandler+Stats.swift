import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `GET /v1/stats`.
    func getStats(_ input: Operations.GetStats.Input) async throws -> Operations.GetStats.Output {
        let stats = try await runtime.stats()
        let byKind = stats.openSockets.map {
            Components.Schemas.Stats.SocketsPayload.ByKindPayloadPayload(
                family: $0.family, _type: $0.type, state: $0.state ?? "unknown", netns: $0.netns, count: $0.count)
        }
        return .ok(.init(body: .json(.init(
            at: Date(timeIntervalSince1970: Double(stats.at) / 1_000_000),
            sockets: .init(open: stats.openSockets.reduce(0) { $0 + $1.count }, operationsInFlight: stats.operationsInFlight,
                           byKind: byKind),
            operations: .init(lastMinute: Self.window(stats.lastMinute), lastHour: Self.window(stats.lastHour)),
            bytes: .init(sent: stats.bytes.sent, received: stats.bytes.received),
            probes: .init(
                success: stats.probes["success"] ?? 0, partial: stats.probes["partial"] ?? 0,
                failure: stats.probes["failure"] ?? 0, running: stats.probes["running"] ?? 0),
            eventStreams: .init(subscribers: stats.subscribers, lastEventId: String(stats.lastEventID))))))
    }

    /// `GET /metrics`: the Prometheus exposition rendered by swift-prometheus.
    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        .ok(.init(body: .plainText(HTTPBody(runtime.metricsExposition()))))
    }

    private static func window(_ totals: ActivityWindows.Totals) -> Components.Schemas.ActivityWindow {
        .init(operations: totals.operations, errors: totals.errors, timeouts: totals.timeouts,
              bytesSent: totals.bytesSent, bytesReceived: totals.bytesReceived)
    }
}

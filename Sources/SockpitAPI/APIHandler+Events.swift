import FoundationEssentials
import SockpitCore
import Storage

extension APIHandler {
    /// `GET /v1/events`.
    func listEvents(_ input: Operations.ListEvents.Input) async throws -> Operations.ListEvents.Output {
        let query = input.query
        for (name, value) in [("socket_id", query.socketId), ("probe_id", query.probeId), ("op", query.op)] {
            if let value, value.utf8.count > 64 { throw APIProblem.validation("\(name) is longer than 64 bytes", field: name) }
        }
        var events = EventQuery(
            socketID: query.socketId, probeID: query.probeId, op: query.op, outcome: query.outcome?.rawValue,
            since: query.since.map(Self.micros), until: query.until.map(Self.micros),
            limit: try Paging.limit(query.limit), cursor: try Paging.cursor(query.cursor), order: Paging.order(query.order?.rawValue))
        if let after = query.after {
            guard let value = try Paging.cursor(after) else { throw APIProblem.validation("after is not an event id", field: "after") }
            events.after = value
        }
        let page = try await runtime.events(events)
        return .ok(.init(body: .json(.init(items: try page.items.map(Self.event), nextCursor: page.nextCursor.map(String.init)))))
    }
}

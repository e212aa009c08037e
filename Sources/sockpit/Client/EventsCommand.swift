import ArgumentParser
import Foundation
import OpenAPIRuntime
import SockpitClient
import SockpitContract

/// `sockpit events [--follow]`: recent history, or the live stream resumed across drops and restarts.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Print recent events, or follow the live event stream (--follow).",
        discussion: "With --follow the stream is resumed from the last event printed (Last-Event-ID) whenever it drops or the server restarts, so no event is missed or printed twice; Ctrl-C ends it.")

    @OptionGroup var client: ClientOptions
    @Flag(name: [.short, .long], help: "Keep printing events as they happen.") var follow = false
    @Option(help: "Only events of this socket.") var socket: String?
    @Option(help: "Only events of this probe.") var probe: String?
    @Option(help: "Only events of this operation (create, send, probe.finish, ...).") var op: String?
    @Option(help: "Without --follow: how many of the newest events.") var limit: Int = 20
    @Option(help: "With --follow: first replay the events after this id (0: all history).") var after: String?

    func run() async throws {
        let op: Components.Schemas.EventOp? = try self.op.map { try RequestBody.decode($0, option: "--op") }
        let api = try client.client()
        guard follow else {
            let page = try await api.listEvents(query: .init(socketId: socket, probeId: probe, op: op, limit: limit)).ok.body.json
            try client.emit(page) { $0.items.reversed().map(Render.event).joined(separator: "\n") }
            return
        }
        // Where "now" is, as an id: a stream that drops before its first event resumes from there, not from a
        // later "now" that would skip what happened in between.
        var last = after
        var pause = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                if last == nil { last = try await api.listEvents(query: .init(limit: 1)).ok.body.json.items.first?.id ?? "0" }
                let body = try await api.streamEvents(
                    query: .init(socketId: socket, probeId: probe, op: op),
                    headers: .init(lastEventID: last)).ok.body.textEventStream
                pause = .milliseconds(250)
                for try await frame in body.asDecodedServerSentEvents() {
                    if frame.event == "end" {
                        Output.status("sockpit: the server ended the stream (\(frame.data ?? "")); resuming\n")
                        break
                    }
                    guard let data = frame.data else { continue }
                    guard let event = try? JSONDecoder.events.decode(Components.Schemas.Event.self, from: Data(data.utf8)) else {
                        // One this client cannot read (a newer server's): said and passed, not fetched again forever.
                        Output.status("sockpit: skipping event \(frame.id ?? "?"), which this client cannot read\n")
                        if let id = frame.id { last = id }
                        continue
                    }
                    last = event.id
                    print(client.json ? try Output.json(event, compact: true) : Render.event(event))
                    fflush(nil)
                }
            } catch let error as ClientError where Self.refusal((error.underlyingError as? ServerProblem)?.problem.status) {
                throw error  // a refusal (a wrong token, a bad filter) does not get better by retrying; 429 (too many streams) and 5xx may
            } catch {
                Output.status("sockpit: the event stream dropped (\(Self.reason(error))); retrying in \(pause)\n")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
    }

    /// A refusal that retrying does not cure: 4xx other than 429.
    private static func refusal(_ status: Int?) -> Bool {
        guard let status else { return false }
        return (400..<500).contains(status) && status != 429
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? ClientError else { return "\(error)" }
        return Output.reason(error)
    }
}

/// `sockpit stats`: what the server counts.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Print the server's counts: sockets, operations, bytes, probes, streams.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let stats = try await client.client().getStats().ok.body.json
        try client.emit(stats, human: Render.flat)
    }
}

extension JSONDecoder {
    /// Decodes the server's JSON with its RFC 3339 times (milliseconds).
    static let events: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return try ISO8601DateTranscoder.iso8601WithFractionalSeconds.decode(text)
        }
        return decoder
    }()
}

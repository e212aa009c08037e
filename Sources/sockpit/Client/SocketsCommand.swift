import ArgumentParser
import Foundation
import SockpitClient
import SockpitContract

/// `sockpit sockets list|create|show|close`: the managed sockets as a collection.
struct SocketsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sockets", abstract: "List, create, show and close managed sockets on a running server.",
        subcommands: [List.self, Create.self, Show.self, Close.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sockets, newest first (GET /v1/sockets).")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only sockets in this state (created, bound, listening, connected, closed, ...).") var state: String?
        @Option(help: "Only sockets with this label.") var label: String?
        @Option(help: "Only sockets of this family (inet, inet6, unix, ...).") var family: String?
        @Option(help: "At most this many (1-1000).") var limit: Int = 50

        func run() async throws {
            var query = Operations.ListSockets.Input.Query(label: label, limit: limit)
            if let state { query.state = try RequestBody.decode(state, option: "--state") }
            if let family { query.family = try RequestBody.decode(family, option: "--family") }
            let page = try await client.client().listSockets(query: query).ok.body.json
            try client.emit(page) { Render.sockets($0.items) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a socket (POST /v1/sockets).")
        @OptionGroup var client: ClientOptions
        @Option(help: "Address family: inet, inet6, unix, packet, netlink.") var family: String
        @Option(name: .customLong("type"), help: "Socket type: stream, dgram, seqpacket, raw.") var socketType: String
        @Option(name: .customLong("protocol"), help: "Protocol (default: from the type).") var socketProtocol: String?
        @Option(help: "Free text to find the socket by later.") var label: String?
        @Option(help: "The network namespace to make it in (when the server allows it).") var netns: String?

        func run() async throws {
            var object: [String: Any] = ["family": family, "type": socketType]
            object["protocol"] = socketProtocol
            object["label"] = label
            object["netns"] = netns
            let body: Components.Schemas.CreateSocketRequest = try RequestBody.decode(object, option: "sockets create")
            let socket = try await client.client().createSocket(body: .json(body)).created.body.json
            try client.emit(socket, human: Render.socket)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one socket (GET /v1/sockets/{id}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String

        func run() async throws {
            let socket = try await client.client().getSocket(path: .init(id: id)).ok.body.json
            try client.emit(socket, human: Render.socket)
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a socket (DELETE /v1/sockets/{id}); its history stays.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String

        func run() async throws {
            _ = try await client.client().closeSocket(path: .init(id: id)).noContent
            if !client.json { print("closed \(id)") }
        }
    }
}

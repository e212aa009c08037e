import ArgumentParser
import Foundation
import SockpitClient
import SockpitContract

/// `sockpit socket ID VERB ...`: the operations on one socket. The id comes before the verb on the command line;
/// `SockpitCommand` moves it after the verb for the parser.
struct SocketCommand: AsyncParsableCommand {
    static let verbs = ["bind", "listen", "accept", "connect", "send", "receive", "shutdown", "options"]
    static let configuration = CommandConfiguration(
        commandName: "socket", abstract: "Operate one socket: sockpit socket <id> bind|listen|accept|connect|send|receive|shutdown|options.",
        subcommands: [Bind.self, Listen.self, Accept.self, Connect.self, Send.self, Receive.self, Shutdown.self, Options.self])

    struct Bind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind to an address (127.0.0.1:0, [::1]:8080, /path, unix:name, @abstract).",
            usage: "sockpit socket <id> bind <address>")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Argument(help: "The address.") var address: String

        func run() async throws {
            let body: Components.Schemas.BindRequest = try RequestBody.decode(["address": try RequestBody.address(address)], option: "address")
            let socket = try await client.client().bindSocket(path: .init(id: id), body: .json(body)).ok.body.json
            try client.emit(socket, human: Render.socket)
        }
    }

    struct Listen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Listen for connections.", usage: "sockpit socket <id> listen [--backlog <n>]")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Option(help: "The accept queue's length.") var backlog: Int?

        func run() async throws {
            let socket = try await client.client().listenSocket(path: .init(id: id), body: .json(.init(backlog: backlog))).ok.body.json
            try client.emit(socket, human: Render.socket)
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a connection: the new socket, or nothing when none came in time.",
            usage: "sockpit socket <id> accept [--timeout-ms <ms>]")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The listening socket's id.") var id: String
        @Option(help: "How long to wait for a connection.") var timeoutMs: Int?

        func run() async throws {
            let output = try await client.client(waiting: .waitMs(timeoutMs)).acceptSocket(path: .init(id: id), body: .json(.init(timeoutMs: timeoutMs)))
            if case .created(let created) = output {
                try client.emit(try created.body.json, human: Render.socket)
            } else {
                try client.emit(try output.ok.body.json) { _ in "no connection came within the timeout" }
            }
        }
    }

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect to an address (host:port, [v6]:port, /path, @abstract).",
            usage: "sockpit socket <id> connect <address> [--timeout-ms <ms>]")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Argument(help: "The address.") var address: String
        @Option(help: "How long to wait for the connection.") var timeoutMs: Int?

        func run() async throws {
            var object: [String: Any] = ["address": try RequestBody.address(address)]
            object["timeout_ms"] = timeoutMs
            let body: Components.Schemas.ConnectRequest = try RequestBody.decode(object, option: "connect")
            let socket = try await client.client(waiting: .waitMs(timeoutMs)).connectSocket(path: .init(id: id), body: .json(body)).ok.body.json
            try client.emit(socket, human: Render.socket)
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send bytes, given as text (utf8), hex or base64.",
            usage: "sockpit socket <id> send <data> [--encoding utf8|hex|base64] [--to <address>] [--flag oob ...]")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Argument(help: "The payload, in --encoding.") var data: String
        @Option(help: "How <data> is written: utf8 (default), hex, base64.") var encoding: String?
        @Option(help: "Where to send a datagram.") var to: String?
        @Option(name: .customLong("flag"), help: "A send(2) flag: oob, dontroute, more, eor, confirm (repeatable).") var flags: [String] = []

        func run() async throws {
            var object: [String: Any] = ["data": data]
            object["encoding"] = encoding
            if let to { object["to"] = try RequestBody.address(to) }
            if !flags.isEmpty { object["flags"] = flags }
            let body: Components.Schemas.SendRequest = try RequestBody.decode(object, option: "send")
            let sent = try await client.client().sendSocket(path: .init(id: id), body: .json(body)).ok.body.json
            try client.emit(sent) { "sent \($0.bytesSent) bytes" + (Render.address($0.to).map { " to \($0)" } ?? "") }
        }
    }

    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive bytes: printed as text when they are UTF-8, else in the encoding the server chose.",
            usage: "sockpit socket <id> receive [--max-bytes <n>] [--timeout-ms <ms>] [--encoding utf8|hex|base64] [--peek]")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Option(help: "At most this many bytes.") var maxBytes: Int?
        @Option(help: "How long to wait for data.") var timeoutMs: Int?
        @Option(help: "utf8, hex or base64 (default: utf8, base64 for bytes that are not UTF-8).") var encoding: String?
        @Flag(help: "Leave the bytes queued (MSG_PEEK).") var peek = false

        func run() async throws {
            var object: [String: Any] = [:]
            object["max_bytes"] = maxBytes
            object["timeout_ms"] = timeoutMs
            object["encoding"] = encoding
            if peek { object["peek"] = true }
            let body: Components.Schemas.ReceiveRequest = try RequestBody.decode(object, option: "receive")
            let got = try await client.client(waiting: .waitMs(timeoutMs)).receiveSocket(path: .init(id: id), body: .json(body)).ok.body.json
            try client.emit(got) { got in
                if got.timedOut { return "nothing came within the timeout" }
                if got.eof && got.bytes == 0 { return "end of stream (the peer shut down writing)" }
                let from = Render.address(got.from).map { " from \($0)" } ?? ""
                let note = got.encoding == .utf8 ? "" : " (\(got.encoding.rawValue))"
                return got.data + (from.isEmpty && note.isEmpty ? "" : "\n-- \(got.bytes) bytes\(from)\(note)")
            }
        }
    }

    struct Shutdown: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shut down reading, writing or both.", usage: "sockpit socket <id> shutdown read|write|both")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Argument(help: "read, write or both.") var how: String

        func run() async throws {
            let body: Components.Schemas.ShutdownRequest = try RequestBody.decode(["how": how], option: "how")
            let socket = try await client.client().shutdownSocket(path: .init(id: id), body: .json(body)).ok.body.json
            try client.emit(socket, human: Render.socket)
        }
    }

    struct Options: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the socket's options and tcp_info, or set some with --set name=value.",
            usage: "sockpit socket <id> options [--set <name>=<value> ...]")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The socket's id.") var id: String
        @Option(name: .customLong("set"), help: "An option to set, e.g. tcp_nodelay=true, so_rcvbuf=65536 (repeatable).") var assignments: [String] = []

        func run() async throws {
            let api = try client.client()
            let options: Components.Schemas.SocketOptions
            if assignments.isEmpty {
                options = try await api.getSocketOptions(path: .init(id: id)).ok.body.json
            } else {
                var object: [String: Any] = [:]
                for assignment in assignments {
                    guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                        throw ValidationError("--set '\(assignment)' is not name=value")
                    }
                    let text = String(assignment[assignment.index(after: equals)...])
                    // A JSON value when it is one (true, 65536, {"onoff":true}), else the text itself.
                    object[String(assignment[..<equals])] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? text
                }
                let body: Components.Schemas.SocketOptionsPatch = try RequestBody.decode(object, option: "--set")
                options = try await api.setSocketOptions(path: .init(id: id), body: .json(body)).ok.body.json
            }
            try client.emit(options, human: Render.flat)
        }
    }
}

import ArgumentParser
import Foundation
import OpenAPIRuntime
import SockpitClient
import SockpitContract

/// Options every client command shares: which server, which token, and how to print.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The server's base URL. [env: SOCKPIT_URL] [default: http://127.0.0.1:8080]", valueName: "url"))
    var server: String?

    @Option(name: .long, help: ArgumentHelp("Bearer token, when the server runs with --token. [env: SOCKPIT_TOKEN]", valueName: "token"))
    var token: String?

    @Flag(name: .long, help: "Print the server's JSON answer (one object per line for events) instead of a table.")
    var json = false

    /// The generated client for the chosen server. `waiting` is how long the server may take to answer on purpose
    /// (an operation's `timeout_ms`, a probe's run): the client waits that long and 30 s more before it gives up on a
    /// silent server — never less than 60 s. Giving up earlier would leave the operation running on the server, its
    /// answer (received bytes, an accepted connection) lost to this client.
    func client(waiting: Duration = .zero) throws -> Client {
        let environment = ProcessInfo.processInfo.environment
        let text = server ?? environment["SOCKPIT_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ValidationError("--server '\(text)' is not an http:// or https:// URL")
        }
        let token = token ?? environment["SOCKPIT_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return SockpitConnection.client(server: url, token: token, timeout: max(.seconds(60), waiting + .seconds(30)))
    }

    /// Prints `value` as the server's JSON with `--json`, else the human text `human` makes of it.
    func emit<Value: Encodable>(_ value: Value, human: (Value) -> String) throws {
        if json { print(try Output.json(value)) } else { print(human(value)) }
    }
}

/// How answers are printed: JSON as the server writes it, or aligned text.
enum Output {
    /// The server's layout (sorted keys, its times), pretty or on one line (one event per line when following).
    private static let pretty = encoder([.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    private static let oneLine = encoder([.sortedKeys, .withoutEscapingSlashes])

    private static func encoder(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try ISO8601DateTranscoder.iso8601WithFractionalSeconds.encode(date))
        }
        return encoder
    }

    /// `value` as the server writes it: pretty JSON with sorted keys, or on one line with `compact`.
    static func json<Value: Encodable>(_ value: Value, compact: Bool = false) throws -> String {
        String(decoding: try (compact ? oneLine : pretty).encode(value), as: UTF8.self)
    }

    /// Rows under a header, each column as wide as its widest cell; the last column is not padded.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// `name  value` lines, the names aligned; pairs whose value is nil are left out.
    static func fields(_ pairs: [(String, String?)]) -> String {
        let present = pairs.compactMap { name, value in value.map { (name, $0) } }
        let width = present.map(\.0.count).max() ?? 0
        return present.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    /// Milliseconds as `0.063 ms`, `12.4 ms` or `1.52 s`.
    static func duration(ms: Double) -> String {
        if ms >= 1000 { return String(format: "%.2f s", ms / 1000) }
        if ms >= 10 { return String(format: "%.1f ms", ms) }
        return String(format: "%.3f ms", ms)
    }

    /// Whether stdout and stderr are terminals (progress is drawn only then).
    static var interactive: Bool { isatty(1) == 1 && isatty(2) == 1 }

    /// What went wrong in a request that got no answer, in a line (URLSession's text, not its error's dump).
    static func reason(_ error: ClientError) -> String {
        (error.underlyingError as? URLError)?.localizedDescription ?? "\(error.underlyingError)"
    }

    /// Writes `text` to stderr without a newline.
    static func status(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

extension Duration {
    /// An operation's `--timeout-ms`, as long as the server may wait on purpose; none given: the server's defaults
    /// (at most 10 s).
    static func waitMs(_ milliseconds: Int?) -> Duration { .milliseconds(max(milliseconds ?? 0, 0)) }
}

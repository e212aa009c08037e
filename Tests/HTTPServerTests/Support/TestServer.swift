import FoundationEssentials
import HTTPServer
import HTTPTypes
import Logging
import OpenAPIRuntime
import Synchronization

/// A started transport on 127.0.0.1 with a kernel-chosen port, and the log it writes.
struct TestServer: Sendable {
    /// The transport under test.
    let transport: MicroHTTPDTransport
    /// What the transport logged.
    let log: LogRecorder
    /// Threads that appeared while the transport started: libmicrohttpd's pool (possibly plus an unrelated
    /// thread started at the same moment).
    let daemonThreads: Set<Int32>

    /// The bound port.
    var port: Int { transport.port }

    /// Opens a new client connection (blocking: call inside `offload`).
    func connect() throws -> HTTPConnection { try HTTPConnection(port: port) }

    /// Sends one request on a fresh connection, off the cooperative pool.
    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> ResponseMessage {
        let port = port
        return try await offload {
            let connection = try HTTPConnection(port: port)
            return try connection.request(method, target, headers: headers, body: body)
        }
    }
}

extension HTTPServerConfiguration {
    /// Listens on 127.0.0.1 with a port the kernel picks; everything else is the service default.
    static func testing(maxRequestBodyBytes: Int = 1 << 20, streamBufferBytes: Int = 256 << 10) -> Self {
        HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxRequestBodyBytes: maxRequestBodyBytes, streamBufferBytes: streamBufferBytes)
    }
}

/// Starts a transport with the routes `register` adds and a logger at `logLevel`, runs `body`, then shuts the
/// transport down (also when `body` throws), so no test leaves a daemon behind.
@discardableResult
func withTestServer<R: Sendable>(
    configuration: HTTPServerConfiguration = .testing(),
    shutdownGrace: Duration = .milliseconds(200),
    logLevel: Logger.Level = .trace,
    routes register: (MicroHTTPDTransport) throws -> Void,
    _ body: (TestServer) async throws -> R
) async throws -> R {
    let log = LogRecorder()
    var logger = log.logger
    logger.logLevel = logLevel
    let transport = MicroHTTPDTransport(configuration: configuration, logger: logger)
    try register(transport)
    let threadsBefore = ThreadCPU.threadIDs()
    try transport.start()
    let server = TestServer(transport: transport, log: log, daemonThreads: ThreadCPU.threadIDs().subtracting(threadsBefore))
    do {
        let result = try await body(server)
        await transport.shutdown(gracePeriod: shutdownGrace)
        return result
    } catch {
        await transport.shutdown(gracePeriod: shutdownGrace)
        throw error
    }
}

// MARK: Handler helpers

/// A plain-text response with a known length.
func textResponse(_ text: String, status: HTTPResponse.Status = .ok) -> (HTTPResponse, HTTPBody?) {
    var response = HTTPResponse(status: status)
    response.headerFields[.contentType] = "text/plain; charset=utf-8"
    return (response, HTTPBody(text))
}

/// A handler answering what it was given: method, path (with query) and sorted path parameters, one per line.
let describeRequest: RouteHandler = { request, _, metadata in
    let parameters = metadata.pathParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    return textResponse(([request.method.rawValue, request.path ?? "<nil>"] + parameters).joined(separator: "\n"))
}

/// A handler answering the request body unchanged (known length, so buffered by the transport).
let echoBody: RouteHandler = { _, body, _ in
    var bytes: [UInt8] = []
    if let body { bytes = try await [UInt8](collecting: body, upTo: .max) }
    var response = HTTPResponse(status: .ok)
    response.headerFields[.contentType] = "application/octet-stream"
    return (response, HTTPBody(bytes))
}

/// Deterministic pseudo-random bytes, so a corrupted, reordered or truncated body cannot pass by accident.
func patternBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

// MARK: Problem documents

/// A JSON scalar of a problem document (strings and numbers are all the transport emits).
enum JSONScalar: Decodable, Equatable {
    /// A JSON string.
    case string(String)
    /// A JSON number.
    case number(Double)

    /// Decodes a number if the value is one, else a string.
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}

/// An RFC 9457 problem document as the client received it.
struct ProblemDocument {
    /// The members by name.
    let fields: [String: JSONScalar]

    /// Decodes `response`'s body, requiring it to be a flat JSON object.
    init(_ response: ResponseMessage) throws {
        fields = try JSONDecoder().decode([String: JSONScalar].self, from: Data(response.body))
    }

    /// The member names present.
    var keys: Set<String> { Set(fields.keys) }

    /// A string member.
    func string(_ key: String) -> String? {
        if case .string(let value) = fields[key] { return value }
        return nil
    }

    /// The `status` member.
    var status: Int? {
        if case .number(let value) = fields["status"] { return Int(value) }
        return nil
    }
}

// MARK: Logging

/// Collects what the transport logs, so tests can check that details go to the log and not to clients.
final class LogRecorder: Sendable {
    /// One logged message with its metadata rendered as text.
    struct Entry: Sendable {
        /// The level it was logged at.
        let level: Logger.Level
        /// The message text.
        let message: String
        /// Handler and call-site metadata, values rendered as text.
        let metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    /// A logger writing into this recorder.
    var logger: Logger {
        Logger(label: "sockpit.http.test") { _ in Handler(recorder: self) }
    }

    /// Everything logged so far.
    var all: [Entry] { entries.withLock { $0 } }

    fileprivate func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}

import Foundation
import FoundationNetworking
import HTTPServer
import Logging
import SockpitAPI
import SockpitServer
@testable import SockpitCore
import Storage

/// A real Sockpit server on 127.0.0.1, port 0, over a real SQLite file, wired exactly as `sockpit serve`
/// wires it (migrate, WAL, probe, runtime start, transport, handlers) — no mocks.
final class TestService: Sendable {
    /// The domain runtime behind the server.
    let runtime: SockpitRuntime
    /// The libmicrohttpd transport; `transport.port` is the port the kernel chose.
    let transport: MicroHTTPDTransport
    /// `http://127.0.0.1:<port>`.
    let baseURL: String
    /// The SQLite file the server writes its history to.
    let databasePath: String
    /// The bearer token the server requires (nil: no authentication).
    let token: String?
    private let session: URLSession

    private init(runtime: SockpitRuntime, transport: MicroHTTPDTransport, databasePath: String, token: String?) {
        self.runtime = runtime
        self.transport = transport
        self.databasePath = databasePath
        self.token = token
        baseURL = "http://127.0.0.1:\(transport.port)"
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpCookieStorage = nil
        configuration.timeoutIntervalForRequest = 30
        session = URLSession(configuration: configuration)
    }

    /// Opens (creating and migrating) the database at `databasePath` and starts a server over it.
    static func start(databasePath: String, token: String? = nil, limits: ServiceLimits = ServiceLimits()) async throws -> TestService {
        let logger = Logger.quiet
        // Opened, claimed and migrated as `sockpit serve` does.
        let file = try HistoryFile.open(path: databasePath, logger: logger)
        let policy: SocketPolicy
        do {
            // As `serve` on loopback: no default-deny targets; Unix names confined beside the database.
            let directory = String(databasePath[..<(databasePath.lastIndex(of: "/") ?? databasePath.endIndex)])
            policy = SocketPolicy(
                targets: TargetPolicy.defaults(apiOnLoopbackOnly: true, hostAddresses: [], allow: [], deny: []),
                unixPaths: try UnixPathConfinement(directory: directory + "/sockets"), maxOpenSockets: limits.maxOpenSockets,
                maxSendBytes: limits.maxSendBytes, maxReceiveBytes: limits.maxReceiveBytes)
        } catch {
            try? file.close()
            throw error
        }
        let capabilities = CapabilityReport.probe(
            limits: limits, policy: policy, httpLibraryVersion: MicroHTTPDTransport.libraryVersion,
            sqliteVersion: HistoryFile.sqliteVersion)
        let runtime = SockpitRuntime(history: file, capabilities: capabilities, policy: policy, logger: logger)
        let transport = MicroHTTPDTransport(
            configuration: HTTPServerConfiguration(
                host: "127.0.0.1", port: 0, threads: limits.httpThreads, maxRequestBodyBytes: limits.maxRequestBodyBytes,
                connectionLimit: limits.maxConnections, onRequestCompleted: SockpitServer.requestMetrics(runtime)),
            logger: logger)
        do {
            try await runtime.start()
            // Exactly what `sockpit serve` wires.
            try SockpitServer.install(runtime, on: transport, token: token, logger: logger)
            try transport.start()
        } catch {
            await runtime.shutdown()
            throw error
        }
        return TestService(runtime: runtime, transport: transport, databasePath: databasePath, token: token)
    }

    /// Stops as `sockpit serve` does on SIGTERM: the HTTP server first, then the runtime (which closes
    /// the sockets still open and the database).
    func stop() async {
        session.invalidateAndCancel()
        await transport.shutdown(gracePeriod: .seconds(5))
        await runtime.shutdown()
    }

    /// Stops the way a killed process does as far as history can tell: the HTTP server goes and the
    /// database handle is closed, but the runtime never records closing its open sockets.
    func simulateCrash() async throws {
        session.invalidateAndCancel()
        await transport.shutdown(gracePeriod: .seconds(5))
        // As a killed process: nothing more is written, and the database lock goes with the process.
        runtime.history.writer.abandon()
        try runtime.database.close()
    }

    /// Sends one request and reads the whole response.
    ///
    /// `json` is serialized with `JSONSerialization` and sent as `application/json` unless `contentType`
    /// says otherwise; `body` sends raw bytes instead. The service's token is sent when it has one and
    /// `sendToken` is true, unless `headers` carries its own `Authorization`.
    func request(
        _ method: String, _ path: String, json: Any? = nil, body: Data? = nil, contentType: String? = nil,
        headers: [String: String] = [:], sendToken: Bool = true
    ) async throws -> TestResponse {
        guard let url = URL(string: baseURL + path) else { throw TestServiceError.badPath(path) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        var payload = body
        if let json { payload = try JSONSerialization.data(withJSONObject: json) }
        if let payload {
            request.httpBody = payload
            // URLSession would otherwise label a body application/x-www-form-urlencoded.
            request.setValue(contentType ?? "application/json", forHTTPHeaderField: "Content-Type")
        } else if let contentType {
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        if let token, sendToken, !headers.keys.contains(where: { $0.lowercased() == "authorization" }) {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw TestServiceError.notHTTP }
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            fields[String(describing: name).lowercased()] = String(describing: value)
        }
        return TestResponse(status: http.statusCode, headers: fields, body: data)
    }

    /// A second connection to the service's SQLite file, for checking what the server recorded with SQL.
    ///
    /// The test only reads through it; WAL mode lets it read while the server writes.
    func openDatabase() throws -> Database {
        return try Database(path: databasePath, logger: .quiet)
    }
}

/// One response, as received.
struct TestResponse {
    /// The HTTP status code.
    let status: Int
    /// Header values by lowercased name.
    let headers: [String: String]
    /// The raw body.
    let body: Data

    /// The value of the header `name`, matched case-insensitively.
    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body parsed as a JSON object, or nil when it is empty or not an object.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// The body as UTF-8 text, for failure messages.
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why the test client could not send a request.
enum TestServiceError: Error {
    /// The path does not make a URL with the base URL.
    case badPath(String)
    /// The answer was not an HTTP response.
    case notHTTP
}

/// Runs `body` against a fresh server over a fresh database in a fresh directory; stops the server and
/// removes the directory afterwards, whether `body` returned or threw.
func withTestService<T>(
    token: String? = nil, limits: ServiceLimits = ServiceLimits(), _ body: (TestService) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let service = try await TestService.start(databasePath: directory.file("sockpit.sqlite"), token: token, limits: limits)
    do {
        let result = try await body(service)
        await service.stop()
        return result
    } catch {
        await service.stop()
        throw error
    }
}

extension Logger {
    /// A logger that drops everything, so test output shows test results only.
    static let quiet = Logger(label: "SockpitAPITests") { _ in SwiftLogNoOpLogHandler() }
}

import Foundation
import FoundationNetworking
import HTTPServer
import Logging
import SockpitAPI
import SockpitServer
import SockpitCore
import Storage
import Synchronization

/// How a test's service is configured: the options of `sockpit serve` the tests need.
struct ServiceOptions: Sendable {
    /// Bearer token every /v1 request except health must carry (nil: none).
    var token: String?
    /// The sockets directory, relative to the data directory or absolute (nil: DATA_DIR/sockets).
    var unixDirectory: String?
    /// `--allow-target` rules.
    var allowTargets: [String] = []
    /// `--deny-target` rules.
    var denyTargets: [String] = []
    /// `--max-open-sockets`.
    var maxOpenSockets = 1024
    /// `--max-send-bytes`.
    var maxSendBytes = 256 << 10
    /// `--max-receive-bytes`.
    var maxReceiveBytes = 1 << 20
    /// `--retention-*` (the embedded defaults unless a test sets them).
    var retention = RetentionSettings()
    /// `--cors-origin`.
    var corsOrigins: [String] = []
    /// `--sse-heartbeat` and `--sse-buffer`.
    var streams = StreamSettings()
    /// `--allow-netns`.
    var allowNetns: [String] = []
    /// `--raw-protocols`, `--allow-spoofing`, `--raw-send-rate`.
    var raw = RawSocketPolicy()
}

/// A real Sockpit service in this process on 127.0.0.1, port 0, over a real SQLite file in a fresh data
/// directory, wired as `sockpit serve` wires it: database, migrator, WAL, socket policy, capability probe,
/// runtime (started), transport, handlers (plus the immediate health route), transport start. No mocks.
final class Service: Sendable {
    /// The domain runtime behind the server.
    let runtime: SockpitRuntime
    /// The libmicrohttpd transport.
    let transport: MicroHTTPDTransport
    /// `http://127.0.0.1:<port>`.
    let baseURL: String
    /// The data directory (database and, by default, the sockets directory).
    let dataDirectory: String
    /// The SQLite file the service records history in.
    let databasePath: String
    /// The sockets directory's real path, where Unix filesystem names live.
    let socketsDirectory: String
    /// The token the service requires, if any.
    let token: String?
    /// The client the helpers use.
    let session: URLSession
    /// The TCP port the service listens on.
    var port: Int { transport.port }
    private let stopped = Mutex(false)

    private init(runtime: SockpitRuntime, transport: MicroHTTPDTransport, dataDirectory: String, databasePath: String,
                 socketsDirectory: String, token: String?) {
        self.runtime = runtime
        self.transport = transport
        self.dataDirectory = dataDirectory
        self.databasePath = databasePath
        self.socketsDirectory = socketsDirectory
        self.token = token
        baseURL = "http://127.0.0.1:\(transport.port)"
        session = Self.makeSession()
    }

    /// A client session with no caches, no cookies and room for `maxConnections` connections to the service.
    static func makeSession(maxConnections: Int = 16) -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpCookieStorage = nil
        configuration.timeoutIntervalForRequest = 60
        configuration.httpMaximumConnectionsPerHost = maxConnections
        return URLSession(configuration: configuration)
    }

    /// Starts a service whose data directory is `directory`.
    static func start(in directory: TemporaryDirectory, options: ServiceOptions) async throws -> Service {
        let logger = Logger(label: "EndToEndTests") { _ in SwiftLogNoOpLogHandler() }
        let databasePath = directory.file("sockpit.sqlite")
        // Opened, claimed and migrated as `sockpit serve` does.
        let file = try HistoryFile.open(path: databasePath, logger: logger)
        let policy: SocketPolicy
        do {
            let allow = try options.allowTargets.map { try TargetRule(parsing: $0, field: "--allow-target") }
            let deny = try options.denyTargets.map { try TargetRule(parsing: $0, field: "--deny-target") }
            let targets = TargetPolicy.defaults(apiOnLoopbackOnly: true, hostAddresses: [], allow: allow, deny: deny)
            let unixDirectory = options.unixDirectory.map { $0.hasPrefix("/") ? $0 : directory.file($0) }
                ?? directory.file("sockets")
            policy = SocketPolicy(
                targets: targets, unixPaths: try UnixPathConfinement(directory: unixDirectory),
                maxOpenSockets: options.maxOpenSockets, maxSendBytes: options.maxSendBytes,
                maxReceiveBytes: options.maxReceiveBytes, namespaces: Namespaces(allowed: options.allowNetns), raw: options.raw)
        } catch {
            try? file.close()
            throw error
        }
        let limits = ServiceLimits(maxOpenSockets: options.maxOpenSockets, maxSendBytes: options.maxSendBytes,
                                   maxReceiveBytes: options.maxReceiveBytes)
        let capabilities = CapabilityReport.probe(
            limits: limits, policy: policy, httpLibraryVersion: MicroHTTPDTransport.libraryVersion,
            sqliteVersion: HistoryFile.sqliteVersion)
        let runtime = SockpitRuntime(
            history: file, capabilities: capabilities, policy: policy,
            streams: options.streams, retention: options.retention, logger: logger)
        let transport = MicroHTTPDTransport(
            configuration: HTTPServerConfiguration(
                host: "127.0.0.1", port: 0, corsAllowedOrigins: options.corsOrigins,
                onRequestCompleted: SockpitServer.requestMetrics(runtime)),
            logger: logger)
        do {
            try await runtime.start()
            // Exactly what `sockpit serve` wires.
            try SockpitServer.install(runtime, on: transport, token: options.token, logger: logger)
            try transport.start()
        } catch {
            await runtime.shutdown()
            throw error
        }
        return Service(runtime: runtime, transport: transport, dataDirectory: directory.path, databasePath: databasePath,
                       socketsDirectory: policy.unixPaths.directory, token: options.token)
    }

    /// Stops as `sockpit serve` does on SIGTERM: the transport first, then the runtime, which closes the
    /// sockets still open (reason `server-shutdown`) and the database. Later calls do nothing.
    func stop() async {
        guard !stopped.withLock({ state in defer { state = true }; return state }) else { return }
        session.invalidateAndCancel()
        await transport.shutdown(gracePeriod: .seconds(5)) { [runtime] in runtime.endStreams() }
        await runtime.shutdown()
    }

    /// Sends one request and reads the whole response. `json` is serialized with `JSONSerialization` and sent
    /// as `application/json`; `raw` is sent as it is, with `contentType` when given. The service's token is sent
    /// when it has one, unless `authorized` is false.
    func request(_ method: String, _ path: String, json: Any? = nil, raw: String? = nil, contentType: String? = nil,
                 headers: [String: String] = [:], session: URLSession? = nil, authorized: Bool = true) async throws -> Response {
        guard let url = URL(string: baseURL + path) else { throw ServiceError.badPath(path) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let raw { request.httpBody = Data(raw.utf8) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token, authorized { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await (session ?? self.session).data(for: request)
        guard let http = response as? HTTPURLResponse else { throw ServiceError.notHTTP }
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            fields[String(describing: name).lowercased()] = String(describing: value)
        }
        return Response(status: http.statusCode, headers: fields, body: data)
    }

    /// Runs `body` over a second connection to the service's SQLite file (WAL lets it read while the service
    /// writes, and after the service stopped), then closes that connection.
    func history<T>(_ body: (Connection) throws -> T) throws -> T {
        let database = try Database(path: databasePath, logger: Logger(label: "EndToEndTests.history") { _ in SwiftLogNoOpLogHandler() })
        defer { try? database.close() }
        return try database.read(body)
    }
}

/// Why the test client could not send a request.
enum ServiceError: Error {
    /// The path does not make a URL.
    case badPath(String)
    /// The answer was not HTTP.
    case notHTTP
    /// A call answered something the test did not expect (already recorded as an issue).
    case unexpected(String)
}

/// Runs `body` against a fresh service in a fresh data directory; stops the service (if `body` did not) and
/// removes the directory afterwards, whether `body` returned or threw.
func withService<T>(_ options: ServiceOptions = ServiceOptions(), _ body: (Service, TemporaryDirectory) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let service = try await Service.start(in: directory, options: options)
    do {
        let result = try await body(service, directory)
        await service.stop()
        return result
    } catch {
        await service.stop()
        throw error
    }
}

/// `withService` for tests that need no access to the data directory.
func withService<T>(_ options: ServiceOptions = ServiceOptions(), _ body: (Service) async throws -> T) async throws -> T {
    try await withService(options) { service, _ in try await body(service) }
}

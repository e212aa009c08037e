public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import HTTPTypes
public import OpenAPIRuntime
import Synchronization

/// The generated client's transport: Foundation's URLSession, with the response body handed over as it
/// arrives.
///
/// Why not swift-openapi-urlsession's `URLSessionTransport`: on Linux it buffers every response body until the
/// response ends (its README: streaming only on Darwin), and the event stream never ends — `sockpit events
/// --follow` would print nothing. swift-openapi-async-http-client streams, but brings SwiftNIO and BoringSSL
/// into every build of the binary (minutes of a fresh `make run`). URLSession's data delegate does deliver
/// bytes as they come, on Linux too; this is that, and nothing else.
public struct StreamingTransport: ClientTransport {
    private let configuration: URLSessionConfiguration

    /// A transport whose requests time out after `timeout` of silence (never for a stream that keeps sending).
    public init(timeout: Duration = .seconds(60)) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(timeout.components.seconds)
        configuration.timeoutIntervalForResource = .infinity
        self.configuration = configuration
    }

    public func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        guard let url = URL(string: baseURL.absoluteString.trimmingSuffix("/") + (request.path ?? "/")) else {
            throw URLError(.badURL)
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method.rawValue
        for field in request.headerFields { urlRequest.addValue(field.value, forHTTPHeaderField: field.name.rawName) }
        if let body { urlRequest.httpBody = try await Data(collecting: body, upTo: 64 << 20) }

        let delegate = StreamDelegate()
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        let task = session.dataTask(with: urlRequest)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                delegate.start(continuation, session: session)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// One request's delegate: answers the `send` continuation at the response head, then feeds the body stream.
private final class StreamDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct State {
        var head: CheckedContinuation<(HTTPResponse, HTTPBody?), any Error>?
        /// Held until the task completes, then invalidated: one session per request, so one delegate per request.
        var session: URLSession?
    }
    private let state = Mutex(State())
    private let (chunks, sink) = AsyncThrowingStream<ArraySlice<UInt8>, any Error>.makeStream()

    func start(_ head: CheckedContinuation<(HTTPResponse, HTTPBody?), any Error>, session: URLSession) {
        state.withLock { $0 = State(head: head, session: session) }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let continuation = state.withLock { state in defer { state.head = nil }; return state.head }
        if let continuation, let http = response as? HTTPURLResponse {
            var fields = HTTPFields()
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let field = HTTPField.Name(name), let value = value as? String { fields[field] = value }
            }
            let length = fields[.contentLength].flatMap(Int64.init).map(HTTPBody.Length.known) ?? .unknown
            let body = HTTPBody(chunks, length: length, iterationBehavior: .single)
            continuation.resume(returning: (HTTPResponse(status: .init(code: http.statusCode), headerFields: fields), body))
        } else {
            continuation?.resume(throwing: URLError(.badServerResponse))
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        sink.yield(ArraySlice(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let continuation = state.withLock { state in
            defer { state.head = nil; state.session = nil }
            return state.head
        }
        if let error {
            continuation?.resume(throwing: error)
            sink.finish(throwing: error)
        } else {
            continuation?.resume(throwing: URLError(.badServerResponse))
            sink.finish()
        }
        session.finishTasksAndInvalidate()
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

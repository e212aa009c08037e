import CMicroHTTPD
import HTTPTypes
import Logging
import OpenAPIRuntime
import Synchronization

// The C entry points. libmicrohttpd passes `TransportCore` as an unretained `cls`; each request's
// `RequestContext` lives in `con_cls`, retained on the first call and released in the completion callback
// (STYLE.md rule 6).

let accessHandlerCallback: MHD_AccessHandlerCallback = { cls, connection, url, method, _, data, size, slot in
    let core = Unmanaged<TransportCore>.fromOpaque(cls!).takeUnretainedValue()
    return core.access(connection: connection!, url: url!, method: method!, data: data, size: size!, slot: slot!)
}

let requestCompletedCallback: MHD_RequestCompletedCallback = { cls, _, slot, termination in
    guard let slot, let raw = slot.pointee else { return }
    slot.pointee = nil
    let core = Unmanaged<TransportCore>.fromOpaque(cls!).takeUnretainedValue()
    let context = Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue()
    core.completed(context, termination: termination)
}

private let headerIterator: MHD_KeyValueIterator = { cls, _, key, value in
    let list = cls!.assumingMemoryBound(to: [(String, String)].self)
    if let key { list.pointee.append((String(cString: key), value.map { String(cString: $0) } ?? "")) }
    return .YES
}

private let queryIterator: MHD_KeyValueIterator = { cls, _, key, value in
    let parts = cls!.assumingMemoryBound(to: [String].self)
    // libmicrohttpd turns '+' into ' ' before the (no-op) unescape callback; a request-target cannot hold a
    // raw space, so every space here was a '+': put it back so the target reaches handlers as sent.
    func raw(_ text: UnsafePointer<CChar>) -> String {
        let string = String(cString: text)
        return string.contains(" ") ? string.replacingOccurrences(of: " ", with: "+") : string
    }
    if let key {
        let name = raw(key)
        parts.pointee.append(value.map { name + "=" + raw($0) } ?? name)
    }
    return .YES
}

extension TransportCore {
    /// The access handler: first call creates the context, middle calls collect the body, the final call
    /// dispatches, and the call after a resume queues the handler's response.
    func access(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        data: UnsafePointer<CChar>?, size: UnsafeMutablePointer<Int>, slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let raw = slot.pointee else {
            let context = RequestContext(
                connection: ConnectionHandle(pointer: connection), method: String(cString: method), path: String(cString: url))
            slot.pointee = Unmanaged.passRetained(context).toOpaque()
            requests.insert(context)
            _ = withUnsafeMutablePointer(to: &context.headers) { MHD_get_connection_values(connection, .HEADER_KIND, headerIterator, $0) }
            var parts: [String] = []
            _ = withUnsafeMutablePointer(to: &parts) { MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, queryIterator, $0) }
            context.query = parts.isEmpty ? nil : parts.joined(separator: "&")
            if cors.isEnabled { context.corsOrigin = cors.allowed(context.header("origin")) }
            if let problem = RequestFraming.problem(headers: context.headers, limit: configuration.maxRequestBodyBytes) {
                return queue(problem.response, for: context)
            }
            if let length = context.header("content-length").flatMap({ Int($0) }),
               length > configuration.maxRequestBodyBytes {
                // Answering before the body is read makes libmicrohttpd close the connection, which is
                // what we want for an oversized upload.
                return queue(TransportProblem.payloadTooLarge(limit: configuration.maxRequestBodyBytes).response, for: context)
            }
            return .YES
        }
        let context = Unmanaged<RequestContext>.fromOpaque(raw).takeUnretainedValue()
        switch context.phase {
        case .receiving:
            if size.pointee > 0 {
                let count = size.pointee
                size.pointee = 0
                // libmicrohttpd refuses a response while the body is still arriving (chunked uploads have no
                // Content-Length to check up front): discard the rest and answer 413 on the final call.
                guard !context.bodyTooLarge, context.body.count + count <= configuration.maxRequestBodyBytes else {
                    context.bodyTooLarge = true
                    context.body = []
                    return .YES
                }
                data!.withMemoryRebound(to: UInt8.self, capacity: count) {
                    context.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
                }
                return .YES
            }
            if context.bodyTooLarge {
                context.phase = .running
                return queue(TransportProblem.payloadTooLarge(limit: configuration.maxRequestBodyBytes).response, for: context)
            }
            return dispatch(context)
        case .running:
            guard let response = context.takeResponse() else { return .YES }
            return queue(response, for: context)
        case .answered:
            size.pointee = 0
            return .YES
        }
    }

    /// Routes a complete request: transport-level answers at once, handlers on a task.
    private func dispatch(_ context: RequestContext) -> MHD_Result {
        context.phase = .running
        sockpit_mhd_request_complete(context.connection.pointer, timeouts)
        // Counted before the stopping check, so that shutdown either sees this request or it sees stopping.
        runningHandlers.add(1, ordering: .sequentiallyConsistent)
        if stopping.load(ordering: .sequentiallyConsistent) {
            runningHandlers.subtract(1, ordering: .relaxed)
            return queue(TransportProblem.shuttingDown.response, for: context)
        }
        let path = context.path
        // Before anything else: a Host this server does not answer to, or a page of another origin, is refused.
        if let refusal = browserGuard.refusal(host: context.header("host"), origin: context.header("origin"),
                                              corsAllowed: context.corsOrigin != nil) {
            runningHandlers.subtract(1, ordering: .relaxed)
            return queue(refusal.response, for: context)
        }
        // A preflight is the browser asking, without credentials, whether it may send the real request: answered
        // here, before any handler or authentication. An unknown path falls through to the routed 404.
        if context.method == "OPTIONS", let origin = context.corsOrigin, context.header("access-control-request-method") != nil,
           let (methods, template) = router.methods(for: path) {
            runningHandlers.subtract(1, ordering: .relaxed)
            context.route = template
            let response = cors.preflightResponse(
                origin: origin, allowedMethods: methods, requestedHeaders: context.header("access-control-request-headers"))
            return queue(response, for: context, addingCORS: false)
        }
        let match = router.match(method: context.method, path: Substring(path))
        if case .found = match {} else { runningHandlers.subtract(1, ordering: .relaxed) }
        switch match {
        case .notFound:
            return queue(TransportProblem.notFound(path: path).response, for: context)
        case .methodNotAllowed(let allowed, let template):
            context.route = template
            return queue(TransportProblem.methodNotAllowed(method: context.method, template: template, allowed: allowed).response, for: context)
        case .found(let route, let parameters):
            context.route = route.template
            let call = Call(route: route, parameters: parameters, headers: context.headers, target: context.target,
                            body: context.body)
            context.body = []
            guard route.runsInline else {
                context.shared.withLock { $0.suspended = true }
                MHD_suspend_connection(context.connection.pointer)
                Task { await self.run(call, context: context) }
                return .YES
            }
            context.shared.withLock { $0.inline = true }
            HandlerExecutor.shared.start { await self.run(call, context: context) }
            // The handler ran here until it finished or first suspended. Finished: answer now, no suspension.
            // Suspended: suspend the connection under the lock that `complete` takes, so its resume comes after.
            let response = context.shared.withLock { state -> PreparedResponse? in
                state.inline = false
                if let response = state.response {
                    state.response = nil
                    return response
                }
                state.suspended = true
                MHD_suspend_connection(context.connection.pointer)
                return nil
            }
            guard let response else { return .YES }
            return queue(response, for: context)
        }
    }

    /// What a routed request's task needs, taken from the context on the daemon thread.
    struct Call: Sendable {
        let route: Router.Route
        let parameters: [String: Substring]
        let headers: [(String, String)]
        let target: String
        let body: [UInt8]
    }

    /// Runs a request's handler, then hands the response back and resumes the connection if it was suspended.
    private func run(_ call: Call, context: RequestContext) async {
        defer { runningHandlers.subtract(1, ordering: .relaxed) }
        let prepared = await handle(call, context: context)
        if context.complete(with: prepared) { MHD_resume_connection(context.connection.pointer) }
    }

    /// The operation's handler, through the OpenAPI runtime's request and response types.
    private func handle(_ call: Call, context: RequestContext) async -> PreparedResponse {
        var fields = HTTPFields()
        var authority: String?
        for (name, value) in call.headers {
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
            if fieldName.canonicalName == "host" { authority = value }
        }
        let request = HTTPRequest(method: call.route.method, scheme: nil, authority: authority, path: call.target, headerFields: fields)
        do {
            let (response, responseBody) = try await call.route.handler(
                request, call.body.isEmpty ? nil : HTTPBody(call.body), ServerRequestMetadata(pathParameters: call.parameters))
            return try await Self.prepare(response, body: responseBody)
        } catch {
            logger.error("handler failed", metadata: ["http.method": "\(context.method)", "http.path": "\(context.path)", "error": "\(error)"])
            return TransportProblem.handlerFailed.response
        }
    }
}

import CMicroHTTPD
import HTTPTypes
import Logging
import OpenAPIRuntime

// Turning a handler's answer into a libmicrohttpd response: buffered bodies are copied, bodies of unknown
// length are pumped through a `ResponseStream` by a producer task (STYLE.md, Known pitfalls: streams).

private let streamReader: MHD_ContentReaderCallback = { cls, _, buffer, max in
    let stream = Unmanaged<ResponseStream>.fromOpaque(cls!).takeUnretainedValue()
    return stream.read(into: buffer!, max: max)
}

private let streamFree: MHD_ContentReaderFreeCallback = { cls in
    let stream = Unmanaged<ResponseStream>.fromOpaque(cls!).takeRetainedValue()
    stream.cancel()
}

extension TransportCore {
    /// Buffers bodies of known length; bodies of unknown length are streamed.
    static func prepare(_ response: HTTPResponse, body: HTTPBody?) async throws -> PreparedResponse {
        let headers = response.headerFields.map { ($0.name.rawName, $0.value) }
        guard let body else { return PreparedResponse(status: response.status.code, headers: headers, body: .bytes([])) }
        switch body.length {
        case .known(let length):
            let bytes = try await [UInt8](collecting: body, upTo: Int(length))
            return PreparedResponse(status: response.status.code, headers: headers, body: .bytes(bytes))
        case .unknown:
            return PreparedResponse(status: response.status.code, headers: headers, body: .stream(body))
        }
    }

    /// Creates the libmicrohttpd response and queues it (daemon thread only), with the CORS headers unless
    /// `addingCORS` is false (a preflight answer carries its own).
    func queue(_ prepared: PreparedResponse, for context: RequestContext, addingCORS: Bool = true) -> MHD_Result {
        context.phase = .answered
        context.status = prepared.status
        let response: OpaquePointer?
        switch prepared.body {
        case .bytes(let bytes):
            response = bytes.withUnsafeBytes { raw in
                MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
            }
        case .stream(let body):
            let stream = ResponseStream(connection: context.connection, limit: configuration.streamBufferBytes)
            context.shared.withLock { $0.stream = stream }
            response = MHD_create_response_from_callback(
                UInt64.max, 16 << 10, streamReader, Unmanaged.passRetained(stream).toOpaque(), streamFree)
            let task = Task {
                do {
                    for try await chunk in body {
                        guard await stream.append(chunk) else { break }
                    }
                    stream.finish()
                } catch {
                    // Cut the response off (no final chunk) so the client can tell it is incomplete.
                    self.logger.warning("streamed response failed", metadata: ["error": "\(error)"])
                    stream.finish(failed: true)
                }
            }
            stream.producer.withLock { $0 = task }
            if stopping.load(ordering: .acquiring) { stream.finish() }
        }
        guard let response else { return .NO }
        for (name, value) in prepared.headers where !(name.count == 14 && name.lowercased() == "content-length") {
            MHD_add_response_header(response, name, value)
        }
        if addingCORS, cors.isEnabled {
            for (name, value) in cors.responseHeaders(allowedOrigin: context.corsOrigin) {
                MHD_add_response_header(response, name, value)
            }
        }
        let result = MHD_queue_response(context.connection.pointer, UInt32(prepared.status), response)
        MHD_destroy_response(response)
        return result
    }
}

import Foundation
import Testing

/// Calls of the sockets API that tests chain, each requiring its documented success status (a failure names
/// the call and shows the body) and returning the JSON answer.
extension Service {
    /// `POST /v1/sockets`; requires 201 and returns the new socket.
    @discardableResult
    func createSocket(family: String, type: String, label: String? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        var body: [String: Any] = ["family": family, "type": type]
        if let label { body["label"] = label }
        return try await expecting(201, "POST", "/v1/sockets", body, sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets`, returning only the new socket's id.
    func createSocketID(family: String, type: String, label: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let socket = try await createSocket(family: family, type: type, label: label, sourceLocation: sourceLocation)
        return try #require(socket["id"] as? String, sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets/{id}/bind`; requires 200 and returns the socket.
    @discardableResult
    func bind(_ id: String, _ address: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await expecting(200, "POST", "/v1/sockets/\(id)/bind", ["address": address], sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets/{id}/listen`; requires 200 and returns the socket.
    @discardableResult
    func listen(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await expecting(200, "POST", "/v1/sockets/\(id)/listen", [:], sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets/{id}/connect`; requires 200 and returns the socket.
    @discardableResult
    func connect(_ id: String, _ address: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await expecting(200, "POST", "/v1/sockets/\(id)/connect", ["address": address, "timeout_ms": 5000],
                            sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets/{id}/accept` waiting up to 5 s; requires 201 and returns the accepted socket.
    func accept(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await expecting(201, "POST", "/v1/sockets/\(id)/accept", ["timeout_ms": 5000], sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets/{id}/send`; requires 200 and returns the result.
    @discardableResult
    func send(_ id: String, _ data: String, encoding: String = "utf8", to: [String: Any]? = nil, flags: [String]? = nil,
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        var body: [String: Any] = ["data": data, "encoding": encoding]
        if let to { body["to"] = to }
        if let flags { body["flags"] = flags }
        let result = try await expecting(200, "POST", "/v1/sockets/\(id)/send", body, sourceLocation: sourceLocation)
        return result
    }

    /// `POST /v1/sockets/{id}/send` of raw bytes (as base64); requires every byte sent.
    func send(_ id: String, bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let result = try await send(id, Data(bytes).base64EncodedString(), encoding: "base64", sourceLocation: sourceLocation)
        #expect(result["bytes_sent"] as? Int == bytes.count, "send result: \(result)", sourceLocation: sourceLocation)
    }

    /// `POST /v1/sockets/{id}/receive` waiting up to `timeoutMs`; requires 200 and returns the result.
    func receive(_ id: String, maxBytes: Int = 65536, timeoutMs: Int = 5000, encoding: String = "utf8", oob: Bool? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        var body: [String: Any] = ["max_bytes": maxBytes, "timeout_ms": timeoutMs, "encoding": encoding]
        if let oob { body["oob"] = oob }
        return try await expecting(200, "POST", "/v1/sockets/\(id)/receive", body, sourceLocation: sourceLocation)
    }

    /// Receives until exactly `count` bytes have arrived on a stream (each call waits up to 5 s), base64-decoded.
    func receiveBytes(_ id: String, count: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            let result = try await receive(id, maxBytes: count - bytes.count, encoding: "base64", sourceLocation: sourceLocation)
            guard result["timed_out"] as? Bool != true, result["eof"] as? Bool != true else {
                Issue.record("stream ended or went quiet after \(bytes.count) of \(count) bytes: \(result)", sourceLocation: sourceLocation)
                throw ServiceError.unexpected("short stream")
            }
            let chunk = try #require(Data(base64Encoded: result["data"] as? String ?? ""), sourceLocation: sourceLocation)
            bytes += chunk
        }
        return bytes
    }

    /// `GET /v1/sockets/{id}`; requires 200.
    func socket(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await expecting(200, "GET", "/v1/sockets/\(id)", nil, sourceLocation: sourceLocation)
    }

    /// `DELETE /v1/sockets/{id}`; requires 204.
    func close(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let response = try await request("DELETE", "/v1/sockets/\(id)")
        #expect(response.status == 204, "DELETE \(id): \(response.text)", sourceLocation: sourceLocation)
    }

    /// A listening TCP socket of `family` bound to `host` port 0, with the address the kernel chose.
    func tcpListener(family: String = "inet", host: String = "127.0.0.1",
                     sourceLocation: SourceLocation = #_sourceLocation) async throws -> (id: String, address: Address) {
        let id = try await createSocketID(family: family, type: "stream", label: "listener", sourceLocation: sourceLocation)
        let bound = try await bind(id, ["host": host, "port": 0], sourceLocation: sourceLocation)
        let address = try #require(Address(bound["local_address"]), "bind: \(bound)", sourceLocation: sourceLocation)
        try await listen(id, sourceLocation: sourceLocation)
        return (id, address)
    }

    /// A connected TCP pair through a managed listener: (listener, client, accepted server side).
    func tcpConnection(family: String = "inet", host: String = "127.0.0.1",
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> (listener: String, client: String, server: String) {
        let listener = try await tcpListener(family: family, host: host, sourceLocation: sourceLocation)
        let client = try await createSocketID(family: family, type: "stream", label: "client", sourceLocation: sourceLocation)
        try await connect(client, listener.address.json, sourceLocation: sourceLocation)
        let accepted = try await accept(listener.id, sourceLocation: sourceLocation)
        let server = try #require(accepted["id"] as? String, sourceLocation: sourceLocation)
        return (listener.id, client, server)
    }

    /// Sends a request and requires `status`, returning the JSON object answered (empty for no body).
    @discardableResult
    func expecting(_ status: Int, _ method: String, _ path: String, _ json: Any?,
                   sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let response = try await request(method, path, json: json)
        guard response.status == status else {
            Issue.record("\(method) \(path) answered \(response.status), expected \(status): \(response.text)",
                         sourceLocation: sourceLocation)
            throw ServiceError.unexpected("\(method) \(path) -> \(response.status)")
        }
        return response.json ?? [:]
    }
}

/// The counters of a socket document as (bytes_sent, bytes_received, messages_sent, messages_received).
func counters(_ socket: [String: Any]) -> [Int] {
    let counters = socket["counters"] as? [String: Any] ?? [:]
    return ["bytes_sent", "bytes_received", "messages_sent", "messages_received"].map { counters[$0] as? Int ?? -1 }
}

/// Bytes 0...255 followed by `extra` more: every byte value, including NUL and invalid UTF-8.
func binaryBytes(extra: Int = 0) -> [UInt8] {
    (0..<(256 + extra)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
}

/// Lowercase hex of `bytes`.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }.joined()
}

import Foundation
import Glibc

/// One Server-Sent Events frame as a browser's EventSource would parse it (comments kept for the tests).
struct SSEFrame: Sendable, Equatable {
    var id: String?
    var event: String?
    var data: String?
    var comments: [String] = []
    var retry: String?

    /// The `data` parsed as a JSON object.
    var json: [String: Any]? {
        guard let data else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
    }
}

/// A raw HTTP/1.1 client of `GET /v1/events/stream`: sends the request on a `PlainSocket`, reads the head,
/// then de-chunks the body and hands out SSE frames one by one. Blocking with the socket's 5 s read timeout
/// (a dead stream fails the test instead of hanging it); call it through `offload`.
final class EventStreamClient: @unchecked Sendable {
    let socket: PlainSocket
    /// The status line's code and the headers (lowercased names).
    private(set) var status = 0
    private(set) var headers: [String: String] = [:]
    private var raw: [UInt8] = []
    private var text: [UInt8] = []
    private var ended = false

    /// Connects, sends the request and reads the response head; `target` is the path and query.
    init(port: Int, target: String, method: String = "GET", headers extra: [(String, String)] = [], token: String? = nil) throws {
        socket = try PlainSocket()
        try socket.connectLoopback(port: port)
        var request = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in extra { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try socket.write(Array(request.utf8))
        try readHead()
    }

    /// The next frame (heartbeat comments included); nil once the stream has ended.
    func next() throws -> SSEFrame? {
        while true {
            if let frame = takeFrame() { return frame }
            if ended { return nil }
            try readChunk()
        }
    }

    /// The next frame that carries an event id, skipping comments.
    func nextEvent() throws -> SSEFrame? {
        while let frame = try next() {
            if frame.id != nil || frame.event != nil { return frame }
        }
        return nil
    }

    /// Closes the connection (the client "goes away").
    func close() { socket.close() }

    private func readHead() throws {
        while true {
            if let end = Self.find([13, 10, 13, 10], in: raw) {
                let lines = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                status = Int(lines[0].split(separator: " ")[1]) ?? 0
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                raw.removeFirst(end + 4)
                return
            }
            try fill()
        }
    }

    /// Moves one whole chunk of the chunked body into `text`; marks the end at the last chunk or at EOF.
    private func readChunk() throws {
        while true {
            if let lineEnd = Self.find([13, 10], in: raw) {
                let sizeText = String(decoding: raw[..<lineEnd], as: UTF8.self).split(separator: ";")[0]
                guard let size = Int(sizeText, radix: 16) else { throw PlainSocketError(call: "chunk size", code: EPROTO) }
                if raw.count >= lineEnd + 2 + size + 2 {
                    text += raw[(lineEnd + 2)..<(lineEnd + 2 + size)]
                    raw.removeFirst(lineEnd + 2 + size + 2)
                    if size == 0 { ended = true }
                    return
                }
            }
            if try !fill() {
                ended = true
                return
            }
        }
    }

    /// Reads more bytes; false at EOF.
    @discardableResult
    private func fill() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        let got = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
        guard got >= 0 else { throw PlainSocketError(call: "recv", code: errno) }
        raw += buffer[..<got]
        return got > 0
    }

    private func takeFrame() -> SSEFrame? {
        guard let end = Self.find([10, 10], in: text) else { return nil }
        let block = String(decoding: text[..<end], as: UTF8.self)
        text.removeFirst(end + 2)
        var frame = SSEFrame()
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") { frame.comments.append(line.dropFirst().trimmingCharacters(in: .whitespaces)); continue }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch name {
            case "id": frame.id = value
            case "event": frame.event = value
            case "data": frame.data = frame.data.map { $0 + "\n" + value } ?? value
            case "retry": frame.retry = value
            default: break
            }
        }
        return frame
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index..<(index + needle.count)]) == needle { return index }
        }
        return nil
    }
}

/// One way to read where a request's body ends (RFC 9112 §6.3). A request that two HTTP parsers could frame
/// differently — a proxy in front and libmicrohttpd here — lets the end of one request be read as the start of
/// another ("request smuggling"). Such a request is answered 400 before its body is read, on the first
/// access-handler call, which makes libmicrohttpd close the connection after the answer: nothing that follows on
/// it is read as a request.
enum RequestFraming {
    /// The header names this service reads framing and routing from.
    private static let interpreted = ["content-length", "transfer-encoding", "host"]

    /// The problem with how `headers` frame the body, or nil when they frame it one way only. A body longer than
    /// `limit` bytes by its Content-Length, however many digits that has, is 413.
    static func problem(headers: [(String, String)], limit: Int) -> TransportProblem? {
        var lengths: [String] = []
        var encodings: [String] = []
        var hosts = 0
        for (name, value) in headers {
            if name.contains(where: { $0 == " " || $0 == "\t" }) || name.isEmpty {
                return bad("header name '\(name)' holds whitespace; a field name ends at its colon")
            }
            let lowered = name.lowercased()
            // libmicrohttpd 0.9.75 glues a folded line (obs-fold: a line that starts with a space or tab) to the
            // field's name: "Content-Length:\r\n 85" arrives as a field "Content-Length85", and the body would be
            // read as the next request. RFC 9112 §5.2 lets a server refuse obs-fold with 400: done for the fields
            // that frame and route a request (a folded other field is merely not understood).
            if let field = interpreted.first(where: { lowered.hasPrefix($0) && lowered != $0 }) {
                return bad("header '\(name)' looks like a folded \(field) line (obs-fold, RFC 9112 §5.2), which is not accepted: "
                    + "give the field's value on its own line")
            }
            switch lowered {
            case "content-length": lengths.append(value.trimmingCharacters(in: [" ", "\t"]))
            case "transfer-encoding": encodings.append(value.trimmingCharacters(in: [" ", "\t"]))
            case "host": hosts += 1
            default: break
            }
        }
        if hosts > 1 {
            return bad("Host is given \(hosts) times; a request names one (RFC 9112 §3.2)")
        }
        if !encodings.isEmpty && !lengths.isEmpty {
            return bad("Content-Length and Transfer-Encoding together frame the body two ways; send one")
        }
        if !encodings.isEmpty {
            guard encodings.count == 1, encodings[0].lowercased() == "chunked" else {
                return bad("Transfer-Encoding '\(encodings.joined(separator: ", "))' is not taken; only 'chunked' is")
            }
        }
        if let first = lengths.first {
            guard first.allSatisfy(\.isASCII), !first.isEmpty, first.allSatisfy(\.isNumber) else {
                return bad("Content-Length '\(first)' is not a number of bytes")
            }
            if first.count > 18 { return .payloadTooLarge(limit: limit) }
            guard lengths.allSatisfy({ $0 == first }) else {
                return bad("Content-Length is given \(lengths.count) times with different values (\(lengths.joined(separator: ", ")))")
            }
        }
        return nil
    }

    private static func bad(_ detail: String) -> TransportProblem {
        TransportProblem(status: 400, type: "https://sockpit.dev/problems/bad-framing", title: "Bad Request",
                         detail: detail + "; the connection is closed", extraHeaders: [("Connection", "close")])
    }
}

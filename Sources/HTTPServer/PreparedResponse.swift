import OpenAPIRuntime

/// A response ready to hand to libmicrohttpd: either fully buffered bytes or a stream to pump.
struct PreparedResponse: Sendable {
    /// Where the body comes from.
    enum Body: Sendable {
        case bytes([UInt8])
        case stream(HTTPBody)
    }

    let status: Int
    let headers: [(String, String)]
    let body: Body
}

/// A libmicrohttpd connection handle that may cross threads. libmicrohttpd allows
/// `MHD_resume_connection` from any thread; every other use stays on the daemon's threads.
struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

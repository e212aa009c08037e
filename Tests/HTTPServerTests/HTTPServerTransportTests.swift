import Testing

/// The HTTPServer tests: a real `MicroHTTPDTransport` on 127.0.0.1 (port 0) driven by a raw-socket client.
///
/// Serialized because some tests measure CPU time and shutdown timing, which other servers running alongside
/// (each with its own libmicrohttpd threads) would distort.
@Suite("MicroHTTPDTransport", .serialized, .timeLimit(.minutes(2)))
struct HTTPServerTransportTests {}

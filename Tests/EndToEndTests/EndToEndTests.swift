import Testing

/// The root of the end-to-end suites: each test starts the real service in this process and drives it over
/// HTTP with real sockets. Serialized so that the latency figures of one test are not another's load.
@Suite(.serialized) struct EndToEndTests {}

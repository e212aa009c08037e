public import HTTPServer

extension SockpitServer {
    /// Where each operation of `openapi.yaml` starts its handler: the one table of how a request is served.
    /// Every operation has exactly one row and one way through (the generated server, its middlewares, the
    /// handler); the transport refuses an operation that is missing here, or a row with no operation, at start.
    ///
    /// `.daemonThread`: small, bounded work — one socket's syscall or two and a history commit, or an answer
    /// from memory. It runs on the thread that read the request until it first suspends (the wait for its
    /// commit, a receive waiting for data), so a handler that finishes at once costs no thread hand-off.
    /// `.taskPool`: work that grows with its answer (lists, history pages, probes, metrics, streams): on a
    /// daemon thread it would hold up that thread's other connections.
    public static let lanes: [Lane] = [
        Lane(.get, "/v1/health", .daemonThread),
        Lane(.get, "/v1/capabilities", .daemonThread),
        Lane(.post, "/v1/sockets", .daemonThread),
        Lane(.get, "/v1/sockets", .taskPool),
        // An open socket is answered from the registry's memory; a closed one is one primary-key read.
        Lane(.get, "/v1/sockets/{id}", .daemonThread),
        Lane(.delete, "/v1/sockets/{id}", .daemonThread),
        Lane(.get, "/v1/sockets/{id}/events", .taskPool),
        Lane(.post, "/v1/sockets/{id}/bind", .daemonThread),
        Lane(.post, "/v1/sockets/{id}/listen", .daemonThread),
        Lane(.post, "/v1/sockets/{id}/accept", .daemonThread),
        Lane(.post, "/v1/sockets/{id}/connect", .daemonThread),
        Lane(.post, "/v1/sockets/{id}/send", .daemonThread),
        Lane(.post, "/v1/sockets/{id}/receive", .daemonThread),
        Lane(.post, "/v1/sockets/{id}/shutdown", .daemonThread),
        Lane(.get, "/v1/sockets/{id}/options", .daemonThread),
        Lane(.patch, "/v1/sockets/{id}/options", .daemonThread),
        Lane(.post, "/v1/socketpairs", .daemonThread),
        Lane(.post, "/v1/probes", .taskPool),
        Lane(.get, "/v1/probes", .taskPool),
        Lane(.get, "/v1/probes/{id}", .taskPool),
        Lane(.get, "/v1/events", .taskPool),
        Lane(.get, "/v1/events/export", .taskPool),
        Lane(.get, "/v1/events/stream", .taskPool),
        Lane(.get, "/v1/netns", .taskPool),
        Lane(.get, "/v1/host/links", .taskPool),
        Lane(.get, "/v1/host/addresses", .taskPool),
        Lane(.get, "/v1/host/routes", .taskPool),
        Lane(.get, "/v1/host/neighbours", .taskPool),
        Lane(.get, "/v1/host/sockets", .taskPool),
        Lane(.get, "/v1/host/events", .taskPool),
        Lane(.get, "/v1/stats", .taskPool),
        Lane(.get, "/metrics", .taskPool),
        // The dashboard's files, answered from the binary's memory.
        Lane(.get, "/", .daemonThread),
        Lane(.get, "/ui/{file}", .daemonThread),
    ]
}

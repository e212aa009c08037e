import Glibc

/// A numeric IPv4 or IPv6 listen address turned into the `sockaddr` libmicrohttpd binds.
struct ListenAddress: CustomStringConvertible, Sendable {
    let host: String
    let port: Int
    let isIPv6: Bool
    private let v4: sockaddr_in
    private let v6: sockaddr_in6

    init(host rawHost: String, port: Int) throws {
        let host = rawHost == "localhost" ? "127.0.0.1" : rawHost
        guard (0...65535).contains(port) else { throw HTTPServerError.invalidListenAddress("\(rawHost):\(port)") }
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            isIPv6 = false
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            isIPv6 = true
        } else {
            throw HTTPServerError.invalidListenAddress("\(rawHost):\(port)")
        }
        self.host = host
        self.port = port
        self.v4 = v4
        self.v6 = v6
    }

    /// Calls `body` with a pointer to the address as a generic `sockaddr`.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        if isIPv6 {
            var copy = v6
            return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
        var copy = v4
        return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }

    var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

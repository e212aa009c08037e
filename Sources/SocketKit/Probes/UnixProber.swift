import Glibc
import SystemPackage

/// Probes of filesystem Unix sockets: is anything listening behind this path?
public enum UnixProber {
    /// Connects (stream or seqpacket, or sends for dgram) to an absolute Unix path: open (connected), closed (ECONNREFUSED: a socket file with no listener),
    /// missing (ENOENT) — report as PortResult with port 0 and state open/closed (errno ENOENT for missing); optional payload/expect/banner like TCP.
    ///
    /// Other refusals are closed with their errno too: `EACCES` (no write permission on the file),
    /// `ENOTDIR`, `EPROTOTYPE` (a socket of another type), `EINVAL` for a path that is not absolute or
    /// holds a NUL, `ENAMETOOLONG` past `sun_path`'s 107 bytes. A listener whose backlog stays full (`EAGAIN`:
    /// Unix connects never go "in progress") until ``PortProbeOptions/timeout`` is filtered with `EAGAIN`.
    /// A dgram probe sends ``PortProbeOptions/payload`` (default: an empty datagram); to read a reply it
    /// first binds to an autobound abstract address, so the server has somewhere to answer.
    public static func probe(path: String, type: SocketType, options: PortProbeOptions) async -> PortResult {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else {
            return PortResult(port: 0, state: .closed, errno: Errno.invalidArgument.name)
        }
        guard path.utf8.count <= SocketAddressError.maximumUnixPathBytes else {
            return PortResult(port: 0, state: .closed, errno: Errno.fileNameTooLong.name)
        }
        let address = SocketAddress.unix(path: path)
        let started = ContinuousClock.now
        let socket: Socket
        do {
            socket = try Socket(family: .unix, type: type)
        } catch {
            return PortResult(port: 0, state: .closed, errno: error.name)
        }
        defer { try? socket.close() }
        if type == .dgram { return await probeDatagram(socket, address, started: started, options: options) }
        let deadline = started + options.timeout
        while true {
            do {
                _ = try socket.connect(to: address)
                break
            } catch .resourceTemporarilyUnavailable {
                // The backlog is full, and nothing signals when it drains: look again shortly.
                guard ContinuousClock.now < deadline else {
                    return PortResult(port: 0, state: .filtered, errno: Errno.resourceTemporarilyUnavailable.name)
                }
                do { try await Task.sleep(for: .milliseconds(5)) } catch {
                    return PortResult(port: 0, state: .filtered, errno: Errno.canceled.name)
                }
            } catch {
                return PortResult(port: 0, state: .closed, rtt: ContinuousClock.now - started, errno: error.name)
            }
        }
        let connectedAt = ContinuousClock.now
        var result = PortResult(port: 0, state: .open, rtt: connectedAt - started)
        if options.readsReply {
            let reply = await socket.exchange(options: options, connectedAt: connectedAt)
            result.reply = reply.bytes
            result.firstByte = reply.firstByte
            result.expectMatched = reply.matched
        }
        return result
    }

    /// A dgram socket is "open" when a datagram can be delivered to it; a reply is read when asked for.
    private static func probeDatagram(
        _ socket: Socket, _ address: SocketAddress, started: ContinuousClock.Instant, options: PortProbeOptions
    ) async -> PortResult {
        do {
            // The empty path binds to an autobound abstract name: a return address for the reply.
            if options.readsReply { try socket.bind(to: .unix(path: "")) }
            _ = try socket.connect(to: address)
            let payload = (options.payload ?? [])[...]
            let deadline = started + options.timeout
            while try socket.send(payload, to: nil, flags: []) == nil {
                // The receiver's queue is full: its socket becomes writable for us once it drains.
                if try await socket.wait(for: .writable, until: deadline) == .timedOut {
                    return PortResult(port: 0, state: .filtered, errno: Errno.resourceTemporarilyUnavailable.name)
                }
            }
        } catch let error as Errno {
            return PortResult(port: 0, state: .closed, rtt: ContinuousClock.now - started, errno: error.name)
        } catch {
            return PortResult(port: 0, state: .filtered, errno: Errno.canceled.name)
        }
        let sentAt = ContinuousClock.now
        var result = PortResult(port: 0, state: .open, rtt: sentAt - started)
        guard options.readsReply else { return result }
        let deadline = sentAt + options.readTimeout
        while true {
            let message: ReceivedMessage?
            do { message = try socket.receive(maxBytes: probeReplyLimit, flags: []) } catch { break }
            if let message {
                result.reply = message.bytes
                result.firstByte = ContinuousClock.now - sentAt
                break
            }
            guard (try? await socket.wait(for: .readable, until: deadline)) == .ready else { break }
        }
        result.expectMatched = options.expect.map { expect in result.reply.map(expect.matches) ?? false }
        return result
    }
}

import Foundation
import Glibc
import Testing

extension EndToEndTests {
    /// Unix sockets by path (confined to the sockets directory), by abstract name, and as socket pairs.
    @Suite struct UnixSocketTests {
        /// Filesystem names live in the sockets directory, and closing removes what the service created.
        @Test("Unix stream by path: the socket file is made in the sockets directory, echo works, DELETE unlinks it")
        func streamByPathEchoesAndUnlinksOnClose() async throws {
            try await withService { service in
                let file = service.socketsDirectory + "/stream.sock"
                let listener = try await service.createSocketID(family: "unix", type: "stream")
                let bound = try await service.bind(listener, ["path": "stream.sock"])
                #expect(Address(bound["local_address"])?.path == "stream.sock", "bind: \(bound)")
                #expect(fileType(file) == S_IFSOCK, "a socket file exists at \(file)")
                try await service.listen(listener)

                let client = try await service.createSocketID(family: "unix", type: "stream")
                let connected = try await service.connect(client, ["path": "stream.sock"])
                #expect(Address(connected["peer_address"])?.path == "stream.sock")
                let accepted = try await service.accept(listener)
                let server = try #require(accepted["id"] as? String)
                #expect(accepted["parent_id"] as? String == listener)

                let binary = binaryBytes(extra: 100)
                try await service.send(client, bytes: binary)
                #expect(try await service.receiveBytes(server, count: binary.count) == binary)
                try await service.send(server, "echo")
                #expect(try await service.receiveBytes(client, count: 4) == Array("echo".utf8))

                try await service.close(listener)
                #expect(fileType(file) == nil, "DELETE unlinks the bound socket file \(file)")
            }
        }

        /// Unix datagram addresses are shown relative to the sockets directory.
        @Test("Unix dgram by path: sendto names the receiver's file and from names the sender's")
        func datagramByPathReportsSender() async throws {
            try await withService { service in
                let a = try await service.createSocketID(family: "unix", type: "dgram")
                try await service.bind(a, ["path": "a.sock"])
                let b = try await service.createSocketID(family: "unix", type: "dgram")
                try await service.bind(b, ["path": "b.sock"])

                let sent = try await service.send(a, "to b", to: ["path": "b.sock"])
                #expect(sent["bytes_sent"] as? Int == 4)
                let got = try await service.receive(b)
                #expect(got["data"] as? String == "to b")
                #expect(Address(got["from"])?.path == "a.sock", "from: \(String(describing: got["from"]))")

                try await service.send(b, "to a", to: ["path": "a.sock"])
                let back = try await service.receive(a)
                #expect(back["data"] as? String == "to a")
                #expect(Address(back["from"])?.path == "b.sock")

                try await service.close(a)
                try await service.close(b)
                #expect(fileType(service.socketsDirectory + "/a.sock") == nil)
                #expect(fileType(service.socketsDirectory + "/b.sock") == nil)
            }
        }

        /// An empty seqpacket message is a message: not the end of the connection, and counted.
        @Test("an empty seqpacket message is received as an empty message, not as end of file, and counted")
        func emptySeqpacketMessageIsNotEndOfFile() async throws {
            try await withService { service in
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "seqpacket"])
                let ids = (pair["sockets"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                try #require(ids.count == 2)
                try await service.send(ids[0], "")
                try await service.send(ids[0], "still here")
                let empty = try await service.receive(ids[1])
                #expect(empty["eof"] as? Bool == false && empty["bytes"] as? Int == 0, "\(empty)")
                let next = try await service.receive(ids[1])
                #expect(next["data"] as? String == "still here")
                #expect(counters(try await service.socket(ids[1]))[3] == 2, "two messages received")
                _ = try await service.expecting(204, "DELETE", "/v1/sockets/\(ids[0])", nil)
                let end = try await service.receive(ids[1])
                #expect(end["eof"] as? Bool == true, "once the peer is gone, nothing read is the end: \(end)")
            }
        }

        /// SOCK_SEQPACKET is a connected stream of whole messages.
        @Test("Unix seqpacket by path keeps message boundaries: two sends arrive as two receives with exact payloads")
        func seqpacketKeepsMessageBoundaries() async throws {
            try await withService { service in
                let listener = try await service.createSocketID(family: "unix", type: "seqpacket")
                try await service.bind(listener, ["path": "seq.sock"])
                try await service.listen(listener)
                let client = try await service.createSocketID(family: "unix", type: "seqpacket")
                try await service.connect(client, ["path": "seq.sock"])
                let server = try #require(try await service.accept(listener)["id"] as? String)

                try await service.send(client, "first")
                try await service.send(client, "the second message")
                let one = try await service.receive(server)
                let two = try await service.receive(server)
                #expect(one["data"] as? String == "first", "first receive: \(one)")
                #expect(two["data"] as? String == "the second message", "second receive: \(two)")
                #expect(one["truncated"] as? Bool == false)
                #expect(counters(try await service.socket(server)) == [0, 23, 0, 2])
            }
        }

        /// The Linux abstract namespace needs no file and no confinement.
        @Test("abstract Unix names: bind, connect and exchange with no file created")
        func abstractNamesWork() async throws {
            try await withService { service in
                let name = "sockpit-e2e-\(UUID().uuidString)"
                let listener = try await service.createSocketID(family: "unix", type: "stream")
                let bound = try await service.bind(listener, ["abstract": name])
                #expect(Address(bound["local_address"])?.abstract == name, "bind: \(bound)")
                try await service.listen(listener)
                let client = try await service.createSocketID(family: "unix", type: "stream")
                let connected = try await service.connect(client, ["abstract": name])
                #expect(Address(connected["peer_address"])?.abstract == name)
                let server = try #require(try await service.accept(listener)["id"] as? String)
                try await service.send(client, "abstract hello")
                #expect(try await service.receiveBytes(server, count: 14) == Array("abstract hello".utf8))
                try await service.send(server, "back")
                #expect(try await service.receiveBytes(client, count: 4) == Array("back".utf8))
                let entries = try FileManager.default.contentsOfDirectory(atPath: service.socketsDirectory)
                #expect(entries.isEmpty, "no file for an abstract name: \(entries)")
            }
        }

        /// socketpair(2) for each Unix type, recorded as two sessions.
        @Test("POST /v1/socketpairs answers 201 with two connected Unix sockets that talk both ways",
              arguments: ["stream", "dgram", "seqpacket"])
        func socketPairsAreConnected(type: String) async throws {
            try await withService { service in
                let response = try await service.request("POST", "/v1/socketpairs", json: ["type": type, "label": "pair"])
                #expect(response.status == 201, "socketpair: \(response.text)")
                let sockets = try #require(response.json?["sockets"] as? [[String: Any]])
                try #require(sockets.count == 2)
                let first = try #require(sockets[0]["id"] as? String)
                let second = try #require(sockets[1]["id"] as? String)
                #expect(first != second)
                #expect(response.header("Location") == "/v1/sockets/\(first)")
                for socket in sockets {
                    #expect(socket["family"] as? String == "unix")
                    #expect(socket["type"] as? String == type)
                    #expect(socket["state"] as? String == "connected")
                    #expect(socket["label"] as? String == "pair")
                }
                try await service.send(first, "one")
                try await service.send(first, "two!")
                try await service.send(second, "back")
                if type == "stream" {
                    #expect(try await service.receiveBytes(second, count: 7) == Array("onetwo!".utf8))
                } else {
                    // Message types keep boundaries.
                    #expect(try await service.receive(second)["data"] as? String == "one")
                    #expect(try await service.receive(second)["data"] as? String == "two!")
                }
                #expect(try await service.receive(first)["data"] as? String == "back")
            }
        }

        /// `--unix-dir` moves where names live; capabilities tell clients where that is.
        @Test("a configured sockets directory holds the socket files, and capabilities report it")
        func configuredSocketsDirectoryIsUsed() async throws {
            var options = ServiceOptions()
            options.unixDirectory = "run/socks"
            try await withService(options) { service, directory in
                #expect(service.socketsDirectory == directory.file("run/socks"))
                let capabilities = try await service.expecting(200, "GET", "/v1/capabilities", nil)
                #expect(capabilities["unix_sockets_directory"] as? String == directory.file("run/socks"))
                let socket = try await service.createSocketID(family: "unix", type: "dgram")
                try await service.bind(socket, ["path": "custom.sock"])
                #expect(fileType(directory.file("run/socks/custom.sock")) == S_IFSOCK)
                #expect(fileType(directory.file("sockets")) == nil, "the default directory is not used")
                // An absolute name inside the directory is accepted and shown relative to it.
                let other = try await service.createSocketID(family: "unix", type: "dgram")
                let bound = try await service.bind(other, ["path": directory.file("run/socks/absolute.sock")])
                #expect(Address(bound["local_address"])?.path == "absolute.sock", "bind: \(bound)")
            }
        }

        /// Confinement: no name may reach outside the sockets directory, by '..', absolute path or symbolic link.
        @Test("Unix names escaping the sockets directory are refused with 400 naming the field; nothing is created outside")
        func escapesAreRefused() async throws {
            try await withService { service, directory in
                let outside = directory.file("outside")
                try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
                // A directory link and a final-component link inside the sockets directory, both pointing outside.
                try FileManager.default.createSymbolicLink(atPath: service.socketsDirectory + "/escape", withDestinationPath: outside)
                try FileManager.default.createSymbolicLink(atPath: service.socketsDirectory + "/link.sock",
                                                           withDestinationPath: outside + "/target.sock")
                let attempts = ["../x", outside + "/absolute.sock", "escape/x.sock", "link.sock", "sub/../../x"]

                let socket = try await service.createSocketID(family: "unix", type: "stream")
                for name in attempts {
                    let bind = try await service.request("POST", "/v1/sockets/\(socket)/bind", json: ["address": ["path": name]])
                    try expectProblem(bind, status: 400, field: "address.path")
                    let connect = try await service.request("POST", "/v1/sockets/\(socket)/connect", json: ["address": ["path": name]])
                    try expectProblem(connect, status: 400, field: "address.path")
                }
                let datagram = try await service.createSocketID(family: "unix", type: "dgram")
                for name in attempts {
                    let send = try await service.request("POST", "/v1/sockets/\(datagram)/send", json: ["data": "x", "to": ["path": name]])
                    try expectProblem(send, status: 400, field: "to.path")
                }
                // The socket is still usable inside the directory after the refusals.
                try await service.bind(socket, ["path": "inside.sock"])

                #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "nothing created in \(outside)")
                let top = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
                #expect(top.isSubset(of: ["sockpit.sqlite", "sockpit.sqlite-wal", "sockpit.sqlite-shm", "sockpit.sqlite-pending", "sockets", "outside"]),
                        "nothing created next to the sockets directory: \(top.sorted())")
                let inside = Set(try FileManager.default.contentsOfDirectory(atPath: service.socketsDirectory))
                #expect(inside == ["escape", "link.sock", "inside.sock"], "sockets directory: \(inside.sorted())")
                #expect(fileType(service.socketsDirectory + "/link.sock") == S_IFLNK, "the link itself is untouched")
            }
        }
    }
}

/// The file type bits (`S_IFSOCK`, `S_IFLNK`, ...) of `path` without following a link; nil when it does not exist.
func fileType(_ path: String) -> mode_t? {
    var status = stat()
    guard lstat(path, &status) == 0 else { return nil }
    return status.st_mode & S_IFMT
}

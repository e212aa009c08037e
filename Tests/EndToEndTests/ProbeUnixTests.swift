import Foundation
import Glibc
import Testing

extension EndToEndTests {
    /// Unix probes: names inside the service's sockets directory, and names that try to leave it.
    @Suite struct ProbeUnixTests {
        /// A listener the test binds in the sockets directory.
        @Test("a Unix probe of a listening socket in the sockets directory is open, outcome success")
        func listeningSocketIsOpen() async throws {
            try await withService { service in
                let listener = try ProbePeer.unixListener(in: service, name: "probe-open.sock")
                defer { listener.close() }
                let probe = try await service.probe(["kind": "unix", "target": "probe-open.sock", "timeout_ms": 2000])
                #expect(probe["outcome"] as? String == "success", "probe: \(probe)")
                #expect(probe["resolved_address"] as? String == "probe-open.sock")
                let row = try #require(attempts(probe).first, "probe: \(probe)")
                #expect(attempts(probe).count == 1)
                #expect(row["state"] as? String == "open")
                #expect(isAbsent(row["errno"]))
                expectPlausibleRTT(row)
            }
        }

        /// Nothing at that name: closed, and why.
        @Test("a Unix probe of a missing name is closed with ENOENT, outcome failure, reason not-found")
        func missingNameIsClosedWithENOENT() async throws {
            try await withService { service in
                let probe = try await service.probe(["kind": "unix", "target": "nobody-here.sock", "timeout_ms": 2000])
                let row = try #require(attempts(probe).first, "probe: \(probe)")
                #expect(row["state"] as? String == "closed")
                #expect(row["errno"] as? String == "ENOENT")
                #expect(probe["outcome"] as? String == "failure")
                #expect(member(probe, "reason", "kind") as? String == "not-found", "reason: \(String(describing: probe["reason"]))")
                #expect(member(probe, "reason", "errno") as? String == "ENOENT")
            }
        }

        /// A socket file whose owner is gone (bound, never listening) refuses like a closed TCP port.
        @Test("a Unix socket file with no listener is closed with ECONNREFUSED, reason refused")
        func socketFileWithoutListenerIsRefused() async throws {
            try await withService { service in
                let stale = try PeerSocket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
                try stale.bind(unixPath: service.socketsDirectory + "/stale.sock")
                defer { stale.close() }
                let probe = try await service.probe(["kind": "unix", "target": "stale.sock", "timeout_ms": 2000])
                #expect(attempts(probe).first?["state"] as? String == "closed", "probe: \(probe)")
                #expect(attempts(probe).first?["errno"] as? String == "ECONNREFUSED")
                #expect(member(probe, "reason", "kind") as? String == "refused")
            }
        }

        /// Confinement: a name that leaves the sockets directory is refused before anything is tried or stored.
        @Test("Unix targets outside the sockets directory ('../x', an absolute path elsewhere) are 400 field target, nothing stored",
              arguments: ["../x", "a/../../x", "/tmp/x.sock"])
        func escapingNameIsRejected(target: String) async throws {
            try await withService { service in
                let response = try await service.request("POST", "/v1/probes", json: ["kind": "unix", "target": target])
                try expectProblem(response, status: 400, kind: "validation", field: "target")
                await service.stop()
                #expect(try service.history { try $0.probeCount() } == 0)
            }
        }
    }
}

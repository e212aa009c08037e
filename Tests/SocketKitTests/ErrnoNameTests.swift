import Glibc
@testable import SocketKit
import SystemPackage
import Testing

@Suite("Errno names and messages")
struct ErrnoNameTests {
    @Test("ECONNREFUSED is 111 and carries its name and strerror message")
    func connectionRefusedHasNameAndMessage() {
        #expect(Errno.connectionRefused.rawValue == 111)
        #expect(Errno.connectionRefused.name == "ECONNREFUSED")
        #expect(Errno(rawValue: 111).message == "Connection refused")
    }

    @Test("Protocol and socket-type support errors have their symbolic names")
    func supportErrnosHaveNames() {
        #expect(Errno.protocolNotSupported.name == "EPROTONOSUPPORT")
        #expect(Errno(rawValue: 93).name == "EPROTONOSUPPORT")
        #expect(Errno.socketTypeNotSupported.name == "ESOCKTNOSUPPORT")
        #expect(Errno(rawValue: 94).name == "ESOCKTNOSUPPORT")
    }

    @Test("Every number Linux assigns from 1 to 133 has a name that Glibc's own constant agrees with")
    func tableMatchesGlibcConstants() {
        let samples: [(CInt, String)] = [
            (EPERM, "EPERM"), (EAGAIN, "EAGAIN"), (EWOULDBLOCK, "EAGAIN"), (EINPROGRESS, "EINPROGRESS"),
            (EADDRINUSE, "EADDRINUSE"), (ENETUNREACH, "ENETUNREACH"), (ETIMEDOUT, "ETIMEDOUT"),
            (EHOSTUNREACH, "EHOSTUNREACH"), (EAFNOSUPPORT, "EAFNOSUPPORT"), (EOPNOTSUPP, "EOPNOTSUPP"),
            (ENOTSUP, "EOPNOTSUPP"), (EHWPOISON, "EHWPOISON"), (EDEADLOCK, "EDEADLK"),
        ]
        for (code, name) in samples {
            #expect(Errno(rawValue: code).name == name)
        }
        let named = (1...133).filter { !Errno(rawValue: CInt($0)).name.hasPrefix("errno ") }
        #expect(named.count == 131)
    }

    @Test("Unassigned numbers get a placeholder that is not a symbolic name")
    func unassignedNumbersAreNotNamed() {
        #expect(Errno(rawValue: 41).name == "errno 41")
        #expect(Errno(rawValue: 0).name == "errno 0")
        #expect(Errno(rawValue: 4096).name == "errno 4096")
        #expect(Errno(rawValue: 4096).message == "Unknown error 4096")
    }
}

import Foundation
@testable import SockpitAPI
@testable import SockpitCore
import SockpitContract
import Storage
import Testing

/// A socket's stored address is read back as the `Address` it was: the same schema value as decoding the
/// column's text with the generated `Decodable`, for every kind of address, after a trip through the column.
@Suite struct AddressSchemaTests {
    static let specs: [Address] = [
        .inet(host: "127.0.0.1", port: 43_210, scopeID: nil),
        .inet(host: "::1", port: 0, scopeID: nil),
        .inet(host: "fe80::1", port: 65_535, scopeID: 2),
        .path("dir/echo.sock"),
        .path("é \"quoted\"/x.sock"),
        .abstract("sockpit\u{0}name"),
        .netlink(pid: 1234, groups: 17),
        .link(LinkSpec(interface: "eth0", index: 2, protocol: 0x88b5)),
    ]

    @Test("The schema shown for a stored address equals the schema decoded from its column text")
    func storedAddressMatchesDecodedText() throws {
        for spec in Self.specs {
            let text = spec.detail.text
            let stored = try #require(Detail(parsing: text), "\(text)")
            let decoded = try JSONDecoder().decode(Components.Schemas.Address.self, from: Data(text.utf8))
            #expect(try APIHandler.schema(#require(Address(detail: stored))) == decoded, "\(text)")
            #expect(try APIHandler.schema(spec) == decoded, "\(text)")
            #expect(try APIHandler.spec(APIHandler.schema(spec)) == spec)
        }
    }

    @Test("A stored value of no address shape is no address")
    func unknownShapeIsRefused() {
        #expect(Address(detail: .object(["pid": .int(1)])) == nil)
        #expect(Address(detail: .object(["netlink": .object(["pid": .int(1)])])) == nil)
        #expect(Address(detail: .object(["netlink": .object(["pid": .int(1), "groups": .int(0)])])) == .netlink(pid: 1, groups: 0))
    }
}

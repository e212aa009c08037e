import Foundation
@testable import SockpitAPI
@testable import SockpitCore
import Testing

/// A socket's stored address is shown from the spec the registry noted when it rendered it: the same schema
/// value as decoding the stored text, for every kind of address.
@Suite struct AddressSchemaTests {
    static let specs: [AddressSpec] = [
        .inet(host: "127.0.0.1", port: 43_210, scopeID: nil),
        .inet(host: "::1", port: 0, scopeID: nil),
        .inet(host: "fe80::1", port: 65_535, scopeID: 2),
        .path("dir/echo.sock"),
        .path("é \"quoted\"/x.sock"),
        .abstract("sockpit\u{0}name"),
    ]

    @Test("The schema built from a spec equals the schema decoded from the spec's stored text")
    func specMatchesDecodedText() throws {
        for spec in Self.specs {
            let text = SocketRegistry.json(spec).rendered
            let decoded = try JSONDecoder().decode(Components.Schemas.Address.self, from: Data(text.utf8))
            #expect(APIHandler.schema(spec) == decoded, "\(text)")
            #expect(APIHandler.spec(APIHandler.schema(spec)) == spec)
        }
    }

    @Test("A noted text is shown from its spec; an unknown one is decoded")
    func notedTextsAreShownFromTheirSpec() throws {
        let spec = AddressSpec.inet(host: "127.0.0.1", port: 40_001, scopeID: nil)
        let text = SocketRegistry.json(spec).rendered
        RenderedAddresses.note(text, spec)
        #expect(RenderedAddresses.spec(for: text) == spec)
        #expect(try APIHandler.address(text) == APIHandler.schema(spec))
        let unknown = #"{"host":"127.0.0.2","port":40002}"#
        #expect(RenderedAddresses.spec(for: unknown) == nil)
        #expect(try APIHandler.address(unknown) == APIHandler.schema(.inet(host: "127.0.0.2", port: 40_002, scopeID: nil)))
    }
}

import FoundationEssentials
import OpenAPIRuntime
import SockpitCore

/// The API's side of a history `Detail`: free-form members (an event's `args` and `result`) become the generated
/// containers directly, and a documented shape (a probe's phases, a socket's options) is decoded by its
/// generated `Decodable` conformance from the value's text, the one JSON form both edges share.
extension Detail {
    /// The value as the OpenAPI runtime's untyped value (`nil` for null).
    var untyped: (any Sendable)? {
        switch self {
        case .null: nil
        case .bool(let value): value
        case .int(let value): Int(value)
        case .double(let value): value
        case .string(let value): value
        case .array(let items): items.map(\.untyped)
        case .object(let members): members.mapValues(\.untyped)
        }
    }

    /// An object's members as a free-form container; any other value is stored wrongly (500).
    func container() throws -> OpenAPIObjectContainer {
        guard let members else { throw SockpitError(.internal, "a stored detail is not an object") }
        return try OpenAPIObjectContainer(unvalidatedValue: members.mapValues(\.untyped))
    }

    /// The value decoded as a generated schema type.
    func decoded<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try APIHandler.decoder.decode(T.self, from: Data(text.utf8))
    }
}

import HTTPTypes
import SockpitCore

extension SockpitError: APIProblemConvertible {
    /// The status and problem type of each kind of domain failure (documented in openapi.yaml).
    var apiProblem: APIProblem {
        let (status, kindName, title): (HTTPResponse.Status, String, String) = switch kind {
        case .invalid: (.badRequest, "validation", "Invalid Field")
        case .notFound: (.notFound, "not-found", "Not Found")
        case .conflict: (.conflict, "invalid-state", "Operation Not Valid In This State")
        case .forbidden: (.forbidden, "forbidden", "Forbidden")
        case .limit: (.tooManyRequests, "limit", "Limit Reached")
        case .tooLarge: (.contentTooLarge, "payload-too-large", "Content Too Large")
        case .unavailable: (.serviceUnavailable, "unavailable", "Resource Exhausted")
        case .unsupported: (.notImplemented, "unsupported", "Not Supported By This Kernel")
        case .network: (.badGateway, "network", "Network Failure")
        case .timeout: (.gatewayTimeout, "timeout", "Deadline Passed")
        case .storageFull: (.init(code: 507), "insufficient-storage", "Insufficient Storage")
        case .internal: (.internalServerError, "internal", "Internal Server Error")
        }
        var problem = APIProblem(kind: kindName, status: status, title: title, detail: detail, field: field, errno: errno)
        problem.state = state
        problem.tookEffect = tookEffect
        return problem
    }
}

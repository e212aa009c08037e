import FoundationEssentials
import OpenAPIRuntime
import SockpitContract
import SockpitCore

/// The dashboard's files, compiled into the binary (`Sources/SockpitAPI/Dashboard`, `.embedInCode`): served from
/// memory with a strong ETag, revalidated on each use, under a policy that lets the page load nothing from
/// another origin.
enum Dashboard {
    struct Asset: Sendable {
        let bytes: [UInt8]
        let etag: String

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            // FNV-1a 64 of the bytes: they change only with the binary, and clients compare it for equality.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            etag = "\"" + String(hash, radix: 16) + "\""
        }
    }

    /// Every file of the Dashboard directory (`PackageResources` has no list; DashboardTests checks this one is whole).
    static let files: [String: Asset] = [
        "index.html": Asset(PackageResources.index_html),
        "style.css": Asset(PackageResources.style_css),
        "app.js": Asset(PackageResources.app_js),
        "api.js": Asset(PackageResources.api_js),
        "format.js": Asset(PackageResources.format_js),
        "overview.js": Asset(PackageResources.overview_js),
        "sockets.js": Asset(PackageResources.sockets_js),
        "events.js": Asset(PackageResources.events_js),
        "probes.js": Asset(PackageResources.probes_js),
    ]

    static let cacheControl = "no-cache"
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Whether an `If-None-Match` value names `etag` (a list, or `*`).
    static func matches(_ ifNoneMatch: String?, _ etag: String) -> Bool {
        guard let ifNoneMatch else { return false }
        return ifNoneMatch.split(separator: ",").contains { tag in
            let tag = tag.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}

extension APIHandler {
    /// `GET /`.
    func getDashboard(_ input: Operations.GetDashboard.Input) async throws -> Operations.GetDashboard.Output {
        let page = Dashboard.files["index.html"]!
        if Dashboard.matches(input.headers.ifNoneMatch, page.etag) { return .notModified(.init(headers: .init(eTag: page.etag))) }
        return .ok(.init(
            headers: .init(eTag: page.etag, cacheControl: Dashboard.cacheControl, contentSecurityPolicy: Dashboard.contentSecurityPolicy),
            body: .html(HTTPBody(page.bytes))))
    }

    /// `GET /ui/{file}`.
    func getDashboardAsset(_ input: Operations.GetDashboardAsset.Input) async throws -> Operations.GetDashboardAsset.Output {
        let name = input.path.file
        guard name != "index.html", let asset = Dashboard.files[name] else {
            throw SockpitError(.notFound, "no dashboard file '\(name)'", field: "file")
        }
        if Dashboard.matches(input.headers.ifNoneMatch, asset.etag) { return .notModified(.init(headers: .init(eTag: asset.etag))) }
        let headers = Operations.GetDashboardAsset.Output.Ok.Headers(
            eTag: asset.etag, cacheControl: Dashboard.cacheControl, contentSecurityPolicy: Dashboard.contentSecurityPolicy)
        let body = HTTPBody(asset.bytes)
        return .ok(.init(headers: headers, body: name.hasSuffix(".css") ? .textCss(body) : .textJavascript(body)))
    }
}

import Foundation
import SockpitCore

/// The parsers a request's text reaches, fuzzed in-process by libFuzzer (`make fuzz`; README, "Tests"): target
/// rules, port lists, regular expressions, stored JSON details and Unix names. The first byte of an input picks
/// the parser, the rest is its text. Each must either accept or throw its own error — never crash, never hang
/// (libFuzzer's `-timeout` catches a match that is not linear) — and what it accepts must read back the same.
enum FuzzTargets {
    /// A directory of its own for the Unix names (nothing is created in it).
    static let unixDirectory: UnixPathConfinement = {
        let path = NSTemporaryDirectory() + "sockpit-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do { return try UnixPathConfinement(directory: path) } catch { fatalError("cannot confine to \(path): \(error)") }
    }()

    static func run(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
        switch selector % 5 {
        case 0: targetRule(text)
        case 1: ports(text)
        case 2: regex(text)
        case 3: detail(text)
        default: unixName(text)
        }
    }

    /// A rule that parses has a canonical text that parses to the same rule.
    static func targetRule(_ text: String) {
        guard let rule = try? TargetRule(parsing: text) else { return }
        let again = try? TargetRule(parsing: rule.description)
        check(again == rule, "TargetRule '\(text)' reads back from '\(rule.description)' as \(String(describing: again))")
    }

    /// Ports that parse are sorted, unique, 1 to 65535, and their ranges read back to the same list.
    static func ports(_ text: String) {
        guard let ports = try? ProbeSpec.parsePorts(text, field: "ports") else { return }
        check(!ports.isEmpty && ports.first! >= 1 && zip(ports, ports.dropFirst()).allSatisfy { $0 < $1 }, "ports '\(text)' gave \(ports)")
        var ranges: [String] = []
        var start = ports[0], end = ports[0]
        for port in ports.dropFirst() {
            if port == end + 1 { end = port; continue }
            ranges.append(start == end ? "\(start)" : "\(start)-\(end)")
            start = port; end = port
        }
        ranges.append(start == end ? "\(start)" : "\(start)-\(end)")
        let again = try? ProbeSpec.parsePorts(ranges.joined(separator: ","), field: "ports")
        check(again == ports, "ports '\(text)' do not read back from their ranges")
    }

    /// A pattern before the first NUL, matched against the text after it: compiles or throws, matches in
    /// linear time.
    static func regex(_ text: String) {
        let parts = text.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
        guard let regex = try? LinearRegex(String(parts[0])) else { return }
        _ = regex.matches(parts.count > 1 ? String(parts[1]) : String(repeating: "a", count: 64))
    }

    /// A detail that parses renders to a text that parses to the same detail.
    static func detail(_ text: String) {
        guard let detail = Detail(parsing: text) else { return }
        check(Detail(parsing: detail.text) == detail, "Detail '\(text)' does not read back from '\(detail.text)'")
    }

    /// A Unix name that is accepted stays inside the sockets directory.
    static func unixName(_ text: String) {
        guard let path = try? unixDirectory.resolve(text, field: "path") else { return }
        // As bytes, as the kernel reads the path: a combining mark after '/' would hide it from Characters.
        let bytes = Array(path.utf8), slash = UInt8(ascii: "/")
        let inside = bytes.starts(with: Array(unixDirectory.directory.utf8) + [slash]) && !bytes.contains(0)
            && !bytes.split(separator: slash).contains { $0.elementsEqual("..".utf8) }
        check(inside, "Unix name '\(text)' resolved outside \(unixDirectory.directory): \(path)")
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError(message()) }
    }
}

import ArgumentParser
import FoundationEssentials
import Glibc
import Logging

/// Options every command shares: where the data lives and how to log.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Directory holding the SQLite history (sockpit.sqlite) and the Unix sockets directory. [env: SOCKPIT_DATA_DIR] [default: $XDG_DATA_HOME/sockpit, else $HOME/.local/share/sockpit]",
        valueName: "path"))
    var dataDir: String?

    @Option(name: .long, help: ArgumentHelp(
        "Log level: trace, debug, info, notice, warning, error, critical. One access-log line per request is written at info. [env: SOCKPIT_LOG_LEVEL] [default: info]",
        valueName: "level"))
    var logLevel: String?

    /// The data directory after applying the environment and the default.
    func resolvedDataDirectory() -> String {
        if let dataDir { return absolute(dataDir) }
        let env = ProcessInfo.processInfo.environment
        if let value = env["SOCKPIT_DATA_DIR"], !value.isEmpty { return absolute(value) }
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty { return absolute(xdg) + "/sockpit" }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root"
        return home + "/.local/share/sockpit"
    }

    /// The SQLite file inside the data directory.
    func databasePath() -> String { resolvedDataDirectory() + "/sockpit.sqlite" }

    /// The log level after applying the environment and the default.
    func resolvedLogLevel() throws -> Logger.Level {
        let text = logLevel ?? ProcessInfo.processInfo.environment["SOCKPIT_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("--log-level '\(text)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }

    /// Installs the logfmt handler on stderr, once per process.
    func bootstrapLogging() throws {
        let level = try resolvedLogLevel()
        LoggingSystem.bootstrap { label in
            var handler = LogfmtHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    private func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
    }
}

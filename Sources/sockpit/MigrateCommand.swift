import ArgumentParser
import Logging
import Glibc
import SockpitCore

/// `sockpit migrate`: applies pending migrations and prints the schema version.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations and print the schema version.",
        discussion: "`serve` also migrates at start; this command lets you do it ahead of time, or check a file.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try common.bootstrapLogging()
        let logger = Logger(label: "sockpit")
        let path = common.databasePath()
        do {
            let file = try HistoryFile.open(path: path, logger: logger)
            try? file.close()
            let after = file.schemaVersion
            print("database \(path): schema version \(after) (applied \(file.applied) migration\(file.applied == 1 ? "" : "s"); this binary knows up to \(HistoryFile.latestVersion))")
        } catch {
            throw CleanExit.message("error: \(error.message)", code: 1)
        }
    }
}

/// Ends the command with a message on stderr and an exit code, without a stack of error types.
enum CleanExit {
    static func message(_ text: String, code: Int32) -> ExitCode {
        LogSink.shared.flush()  // earlier log lines first
        var stderr = StandardError()
        print(text, to: &stderr)
        return ExitCode(code)
    }
}

/// `print(..., to:)` target for stderr.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

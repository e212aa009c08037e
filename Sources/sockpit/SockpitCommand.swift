import ArgumentParser
import SockpitCore

/// `sockpit`: the Berkeley sockets API, probes and their history over HTTP/JSON.
@main
struct SockpitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sockpit",
        abstract: "The Berkeley sockets API, probes and their history over HTTP/JSON.",
        discussion: """
            Every option can also be set through the environment variable named in its help; a flag on the \
            command line wins over the environment, which wins over the embedded default.
            """,
        version: SockpitVersion.current,
        subcommands: [ServeCommand.self, MigrateCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

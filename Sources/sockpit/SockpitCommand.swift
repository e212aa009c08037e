import ArgumentParser
import Foundation
import OpenAPIRuntime
import SockpitClient
import SockpitCore

/// `sockpit`: the Berkeley sockets API, probes and their history over HTTP/JSON — the server (`serve`) and a
/// client of a running one (`sockets`, `socket`, `probe`, `events`, `stats`).
@main
struct SockpitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sockpit",
        abstract: "The Berkeley sockets API, probes and their history over HTTP/JSON.",
        discussion: """
            `sockpit serve` runs the service; the other commands are a client of a running one (--server, \
            SOCKPIT_URL; --token, SOCKPIT_TOKEN). Every serve option can also be set through the environment \
            variable named in its help; a flag on the command line wins over the environment, which wins over \
            the embedded default.

            Exit status: 0 done; 1 the server answered a problem (its title and detail on stderr), or an answer \
            this client cannot read; 2 usage; 3 the server could not be reached (or did not answer in time).
            """,
        version: SockpitVersion.current,
        subcommands: [ServeCommand.self, MigrateCommand.self, SocketsCommand.self, SocketCommand.self, ProbeCommand.self,
                      EventsCommand.self, StatsCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Parses and runs a command, and turns what went wrong into the documented exit statuses.
    static func main() async {
        do {
            var command = try parseAsRoot(reordered(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? any AsyncParsableCommand { try await command.run() } else { try command.run() }
        } catch let error as ClientError {
            if let problem = error.underlyingError as? ServerProblem {
                Output.status("sockpit: \(problem)\n")
                Foundation.exit(1)
            }
            guard error.underlyingError is URLError else {
                // Reached, but its answer is not one this client reads (not the API's, or from a newer version).
                Output.status("sockpit: the answer of \(error.baseURL?.absoluteString ?? "the server") could not be read: \(Output.reason(error))\n")
                Foundation.exit(1)
            }
            Output.status("sockpit: cannot reach the server at \(error.baseURL?.absoluteString ?? "?"): \(Output.reason(error))\n")
            Foundation.exit(3)
        } catch let error as ValidationError {
            // Thrown by a command's run (a value the parser let through): its message alone says what is wrong.
            Output.status("sockpit: \(error.message)\n")
            Foundation.exit(2)
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            Output.status(fullMessage(for: error) + "\n")
            Foundation.exit(2)
        }
    }

    /// `socket ID VERB ...` as the parser takes it, `socket VERB ID ...`: the id reads first, as in `ip link set DEV`.
    static func reordered(_ arguments: [String]) -> [String] {
        guard arguments.count >= 3, arguments[0] == "socket", !SocketCommand.verbs.contains(arguments[1]),
              SocketCommand.verbs.contains(arguments[2]) else { return arguments }
        var arguments = arguments
        arguments.swapAt(1, 2)
        return arguments
    }
}

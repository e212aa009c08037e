import Storage

extension SockpitError {
    /// History could not be written: 507 when the disk is full, 503 otherwise. `operation` is what the client
    /// asked for, named in the detail so that a client knows whether to repeat it.
    init(history failure: HistoryUnavailable, operation: String) {
        let why = failure.isDiskFull ? "the disk holding the history database is full" : "the history database cannot be written (\(failure.cause.message))"
        let detail = failure.tookEffect
            ? "\(operation) took effect, but its history could not be written yet: \(why). It is queued and will be written once that is fixed; do not repeat the operation"
            : "\(operation) was not attempted: \(why), and nothing is done that history could not record. Retry once space is freed"
        self.init(failure.isDiskFull ? .storageFull : .unavailable, detail)
        tookEffect = failure.tookEffect
    }

    /// Runs `body`, turning a failure to record history into the error above.
    static func recording<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let failure as HistoryUnavailable {
            throw SockpitError(history: failure, operation: operation)
        }
    }

    /// Refuses an operation before it acts while history cannot be written.
    static func checkWritable(_ repository: any SocketRepository, operation: String) throws {
        do { try repository.checkWritable() } catch let failure as HistoryUnavailable {
            throw SockpitError(history: failure, operation: operation)
        }
    }
}

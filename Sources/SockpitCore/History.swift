public import Storage

// The history's query and paging types, as the domain's API takes and gives them: plain filters and a cursor,
// no SQL. They live in Storage, which needs them for its repository protocols; the API reaches them here.

/// Filters and paging for listing sockets.
public typealias SocketQuery = Storage.SocketQuery
/// Filters and paging for listing events.
public typealias EventQuery = Storage.EventQuery
/// Filters and paging for listing probes.
public typealias ProbeQuery = Storage.ProbeQuery
/// A page of a list with the cursor of the next one.
public typealias Page = Storage.Page
/// Which way a list runs.
public typealias ListOrder = Storage.ListOrder
/// A structured value of the history (arguments, results, options, probe details).
public typealias Detail = Storage.Detail

extension Page {
    /// The same page with each item transformed (the cursor is unchanged).
    func map<T>(_ transform: (Item) throws -> T) rethrows -> Page<T> {
        Page<T>(items: try items.map(transform), nextCursor: nextCursor)
    }
}

extension SocketRecord {
    /// The session this row describes, as the domain shows it.
    var snapshot: SocketSnapshot {
        get throws { try SocketSnapshot(self) }
    }
}

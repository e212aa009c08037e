/// One schema migration: a plain SQL script with a version (STYLE.md rule 12).
///
/// Migrations use SQL only, never app types, so that an old migration keeps meaning what it meant
/// when it landed, whatever the Swift code becomes.
public struct Migration: Sendable, Equatable {
    /// Position in the sequence (the `NNNN` of `Migrations/NNNN_name.sql`); strictly increasing, > 0.
    public let version: Int
    /// The `name` of `NNNN_name.sql`, recorded in `schema_migrations.name`.
    public let name: String
    /// The script; any number of statements, but no BEGIN/COMMIT: the migrator owns the transaction.
    public let sql: String

    /// Creates a migration; embedded ones come from `Migrations.embedded` instead.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Parses a `NNNN_name.sql` file name and its UTF-8 contents; `nil` if the name does not fit.
    init?(fileName: String, contents: [UInt8]) {
        guard let (version, name) = Self.parse(fileName: fileName) else { return nil }
        self.init(version: version, name: name, sql: String(decoding: contents, as: UTF8.self))
    }

    /// Splits `0001_initial.sql` into `(1, "initial")`.
    static func parse(fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql"), let underscore = fileName.firstIndex(of: "_") else { return nil }
        let digits = fileName[..<underscore]
        let name = fileName[fileName.index(after: underscore)...].dropLast(".sql".count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let version = Int(digits), version > 0, !name.isEmpty else { return nil }
        return (version, String(name))
    }
}

/// The migrations compiled into this binary.
///
/// `Migrations/` at the repository root is symlinked as `Sources/Storage/Migrations` and declared
/// `.embedInCode`, so SwiftPM turns each file into a `[UInt8]` in the generated `PackageResources`:
/// the binary needs no resource bundle and runs from anywhere. `PackageResources` has no list of its
/// members, hence `files` below; `EmbeddedMigrationsTests` fails when it and the directory disagree.
public enum Migrations {
    /// Every embedded migration, sorted by version.
    public static let embedded: [Migration] = files.map { file in
        guard let migration = Migration(fileName: file.name, contents: file.contents) else {
            preconditionFailure("embedded migration \(file.name) is not named NNNN_name.sql")
        }
        return migration
    }.sorted { $0.version < $1.version }

    /// One entry per file in `Migrations/`. SwiftPM names each property after its file, replacing
    /// characters that cannot start or appear in an identifier with `_` (`0002_x.sql` → `_002_x_sql`).
    static let files: [(name: String, contents: [UInt8])] = [
        ("0001_initial.sql", PackageResources._001_initial_sql),
        ("0002_lean_indexes.sql", PackageResources._002_lean_indexes_sql),
        ("0003_probe_result_ranges.sql", PackageResources._003_probe_result_ranges_sql),
        ("0004_socket_identity.sql", PackageResources._004_socket_identity_sql),
        ("0005_netns.sql", PackageResources._005_netns_sql),
        ("0006_memberships.sql", PackageResources._006_memberships_sql),
    ]
}

/// Why `Migrator.migrate` stopped.
public enum MigrationError: Error, CustomStringConvertible, Equatable {
    /// The database was migrated by a newer sockpit; nothing was written to it.
    case schemaTooNew(found: Int, known: Int)
    /// A migration failed and was rolled back entirely; earlier migrations stay applied.
    case failed(version: Int, name: String, underlying: DatabaseError)

    /// A sentence for operators: what happened and what to do.
    public var description: String {
        switch self {
        case .schemaTooNew(let found, let known):
            return "database schema version \(found) is newer than this sockpit binary knows (\(known)); "
                + "refusing to touch it — use a newer sockpit"
        case .failed(let version, let name, let underlying):
            var text = "migration \(version) (\(name)) failed and was rolled back: \(underlying.message)"
            // The SQL of a prepare error runs to the end of the file; its first lines locate it well enough.
            if let sql = underlying.sql { text += " — in: " + (sql.count > 300 ? sql.prefix(300) + "…" : sql) }
            return text
        }
    }
}

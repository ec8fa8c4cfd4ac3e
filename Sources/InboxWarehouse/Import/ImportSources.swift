import Foundation
import Logging
import PostgresLibPQ

/// A saved import source (`warehouse.import_sources`): what `import chatwoot` needs to run again
/// unattended, by `import run NAME` or before a schedule's export (`schedule add --import
/// chatwoot:NAME`). Its connection string never holds a password (`ImportSourceStore.check`).
public struct ImportSource: Sendable, Codable, Equatable {
    public let importSourceID: Int64
    public let name: String
    /// `chatwoot`, the only kind so far.
    public let kind: String
    /// The source database's libpq URI or keyword string, without a password.
    public let conninfo: String
    public let accountID: Int64
    /// The id prefix of the source's records (`cw`).
    public let sourceName: String
    public let chatwootURL: String?
    public let createdAt: String
    public let updatedAt: String

    enum CodingKeys: String, CodingKey {
        case importSourceID = "import_source_id", name, kind, conninfo = "source_url", accountID = "account_id",
             sourceName = "source_name", chatwootURL = "chatwoot_url", createdAt = "created_at", updatedAt = "updated_at"
    }

    /// How a schedule names it: `chatwoot:NAME`.
    public var reference: String { "\(kind):\(name)" }

    /// The import of this source that a schedule or `import run` performs.
    public func importOptions(mode: ChatwootImportOptions.Mode = .incremental, batchLines: Int = 50_000, rejectsPath: String? = nil,
                              waitsForRunningImport: Bool = false) -> ChatwootImportOptions {
        ChatwootImportOptions(accountID: accountID, sourceName: sourceName, mode: mode, chatwootURL: chatwootURL,
                              batchLines: batchLines, rejectsPath: rejectsPath, waitsForRunningImport: waitsForRunningImport)
    }
}

/// What `import chatwoot --save-as NAME` saves.
public struct ImportSourceDefinition: Sendable {
    public var name: String
    public var conninfo: String
    public var accountID: Int64
    public var sourceName: String
    public var chatwootURL: String?

    public init(name: String, conninfo: String, accountID: Int64, sourceName: String = "cw", chatwootURL: String? = nil) {
        self.name = name
        self.conninfo = conninfo
        self.accountID = accountID
        self.sourceName = sourceName
        self.chatwootURL = chatwootURL
    }
}

/// Saves, lists, removes and runs import sources.
public struct ImportSourceStore {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// The kinds of source a schedule can import from.
    public static let kinds = ["chatwoot"]

    /// A saved source's name: 1 to 100 letters, digits, `.`, `_` or `-`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && name.unicodeScalars.allSatisfy {
            ($0.value < 128 && CharacterSet.alphanumerics.contains($0)) || $0 == "." || $0 == "_" || $0 == "-"
        }
    }

    /// Refuses a connection string that libpq cannot read or that carries a password: it would lie
    /// in the warehouse, readable by every role that may read the sources. The error never quotes
    /// the string.
    public static func check(conninfo: String) throws {
        guard !conninfo.isEmpty else { throw WarehouseError.invalidParameter("the source URL is empty") }
        guard let parsed = ConnectionString(parsing: conninfo) else {
            throw WarehouseError.invalidParameter("the source URL is not a libpq URI or connection string")
        }
        if parsed.hasPassword {
            throw WarehouseError.invalidParameter("""
                the source URL carries a password, which a saved source would keep in the warehouse: leave it out \
                and let libpq find it in the scheduler's environment (PGPASSWORD), a password file \
                (~/.pgpass or PGPASSFILE) or a service file (service=NAME in pg_service.conf)
                """)
        }
    }

    /// `chatwoot:NAME` → the source's name; anything else is a clear error.
    public static func name(inReference reference: String) throws -> String {
        guard let colon = reference.firstIndex(of: ":") else {
            throw WarehouseError.invalidParameter("--import takes KIND:NAME, for example chatwoot:acme")
        }
        let kind = String(reference[..<colon]), name = String(reference[reference.index(after: colon)...])
        guard kinds.contains(kind) else {
            throw WarehouseError.invalidParameter("--import: unknown source kind \"\(messageText(kind))\" (known: \(kinds.joined(separator: ", ")))")
        }
        guard isValidName(name) else {
            throw WarehouseError.invalidParameter("--import: a source name is 1 to 100 letters, digits, ., _ or -")
        }
        return name
    }

    /// Saves a source under its name, replacing the settings of a source saved before under the
    /// same name (the schedules that import it then import the new settings). Returns it as
    /// stored and whether it replaced one.
    @discardableResult
    public func save(_ definition: ImportSourceDefinition) throws -> (source: ImportSource, replaced: Bool) {
        guard Self.isValidName(definition.name) else {
            throw WarehouseError.invalidParameter("a source name is 1 to 100 letters, digits, ., _ or -")
        }
        try Self.check(conninfo: definition.conninfo)
        guard ChatwootImportOptions.isValidSourceName(definition.sourceName) else {
            throw WarehouseError.invalidParameter("--source-name must be 1 to 40 letters, digits, _ or -")
        }
        guard definition.accountID > 0 else { throw WarehouseError.invalidParameter("--account-id must be a positive integer") }
        let saved = try connection.execute("""
            insert into warehouse.import_sources (name, source_kind, conninfo, account_id, source_name, chatwoot_url)
            values ($1, 'chatwoot', $2, $3, $4, $5)
            on conflict (name) do update
            set source_kind = excluded.source_kind, conninfo = excluded.conninfo, account_id = excluded.account_id,
                source_name = excluded.source_name, chatwoot_url = excluded.chatwoot_url, updated_at = clock_timestamp()
            returning xmax::text <> '0'
            """, binds: [definition.name, definition.conninfo, definition.accountID, definition.sourceName, definition.chatwootURL])
        // xmax is 0 for a row this statement inserted, the updating transaction's id for one it
        // replaced (PostgreSQL's upsert idiom).
        guard let source = try named(definition.name) else { throw WarehouseError.schema("the source just saved cannot be read back") }
        return (source, saved.scalar == "t")
    }

    /// Every saved source, by name.
    public func list() throws -> [ImportSource] {
        try select(where: "true", binds: [])
    }

    /// The source saved under `name`, if any.
    public func named(_ name: String) throws -> ImportSource? {
        try select(where: "name = $1", binds: [name]).first
    }

    /// Removes a source no schedule imports. Returns false when no source has that name.
    @discardableResult
    public func remove(name: String) throws -> Bool {
        let users = try connection.execute("""
            select string_agg(sch.name, ', ' order by sch.name collate "C")
            from warehouse.export_schedules sch join warehouse.import_sources src using (import_source_id)
            where src.name = $1
            """, binds: [name]).scalar
        if let users {
            throw WarehouseError.invalidParameter("source \"\(messageText(name))\" is imported by the schedules \(users): remove them first")
        }
        return try connection.execute("delete from warehouse.import_sources where name = $1", binds: [name]).affectedRows > 0
    }

    /// Runs the source's import into this warehouse (the same import as `import chatwoot` with
    /// the saved settings).
    public func run(_ source: ImportSource, mode: ChatwootImportOptions.Mode = .incremental, batchLines: Int = 50_000,
                    rejectsPath: String? = nil, waitsForRunningImport: Bool = false,
                    logger: Logger = Logger(label: "inbox-warehouse.import.chatwoot")) throws -> ChatwootImportSummary {
        let options = source.importOptions(mode: mode, batchLines: batchLines, rejectsPath: rejectsPath,
                                           waitsForRunningImport: waitsForRunningImport)
        return try ChatwootImporter(sourceConninfo: source.conninfo, warehouse: connection, options: options, logger: logger).run()
    }

    private func select(where condition: String, binds: [any PostgresBindable]) throws -> [ImportSource] {
        let result = try connection.execute("""
            select import_source_id, name, source_kind, conninfo, account_id, source_name, chatwoot_url,
                   to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            from warehouse.import_sources
            where \(condition)
            order by name collate "C"
            """, binds: binds)
        return (0..<result.rowCount).map { row in
            ImportSource(importSourceID: Int64(result.value(row, 0) ?? "") ?? 0, name: result.value(row, 1) ?? "",
                         kind: result.value(row, 2) ?? "", conninfo: result.value(row, 3) ?? "",
                         accountID: Int64(result.value(row, 4) ?? "") ?? 0, sourceName: result.value(row, 5) ?? "",
                         chatwootURL: result.value(row, 6), createdAt: result.value(row, 7) ?? "", updatedAt: result.value(row, 8) ?? "")
        }
    }
}

/// What a schedule's import did before its export (`JobOutcome.imported`).
public struct ScheduledImport: Sendable, Equatable {
    /// `chatwoot:NAME`.
    public let source: String
    public let loaded: Int64
    public let rejected: Int64
    /// Whether an earlier job of the same run did the import (one import per source and run).
    public let isShared: Bool

    /// The job event's message.
    var message: String {
        var text = "\(source): \(loaded) records loaded, \(rejected) rejected"
        if rejected > 0 { text += " (kept in warehouse.load_rejects; the export runs on what loaded)" }
        if isShared { text += "; imported by an earlier job of this run" }
        return text
    }
}

/// The imports of one run of the scheduler: each source is imported at most once per run, before
/// the first due period that needs it; the periods after it reuse the outcome (its failure too:
/// the next run tries again).
final class ScheduledImports {
    private var outcomes: [String: Result<ScheduledImport, ScheduledImportError>] = [:]

    /// Imports the schedule's source unless this run did already; throws when the import failed.
    func refresh(_ reference: String, connection: Connection) throws -> ScheduledImport {
        if let outcome = outcomes[reference] {
            switch outcome {
            case .success(let done):
                return ScheduledImport(source: done.source, loaded: done.loaded, rejected: done.rejected, isShared: true)
            case .failure(let error):
                throw error
            }
        }
        do {
            let store = ImportSourceStore(connection: connection)
            guard let source = try store.named(try ImportSourceStore.name(inReference: reference)) else {
                throw WarehouseError.invalidParameter("no saved source \(reference)")
            }
            let summary = try store.run(source, waitsForRunningImport: true)
            let done = ScheduledImport(source: reference, loaded: summary.load.loaded, rejected: summary.load.rejected, isShared: false)
            outcomes[reference] = .success(done)
            return done
        } catch {
            let failure = ScheduledImportError(source: reference, reason: Self.describe(error))
            outcomes[reference] = .failure(failure)
            throw failure
        }
    }

    private static func describe(_ error: Error) -> String {
        if let error = error as? PostgresError { return "PostgreSQL: \(error)" }
        return String(describing: error)
    }
}

/// A schedule's import failed: nothing was exported.
public struct ScheduledImportError: Error, CustomStringConvertible, Sendable {
    public let source: String
    public let reason: String

    public var description: String { "import \(source) failed, nothing exported: \(reason)" }
}

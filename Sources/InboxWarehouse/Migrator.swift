import Crypto
import Foundation
import PostgresLibPQ

/// Applies migrations (numbered, forward-only, checksummed, one transaction each) and
/// (re)creates the export views when their files changed.
public struct Migrator {
    public let resources: SQLResources

    public init(resources: SQLResources) { self.resources = resources }

    public struct Report: Sendable {
        public var applied: [String] = []
        public var exportViewsRecreated = false
        public var schemaVersion = 0
    }

    /// Whether every migration is recorded with its checksum and the export views are current:
    /// read-only checks, so a read-only role can run exports without migrating.
    public func isUpToDate(_ connection: Connection) throws -> Bool {
        guard try connection.execute("select to_regclass('warehouse.schema_objects') is not null").scalar == "t" else { return false }
        let recorded = try connection.execute("select version, checksum from warehouse.schema_migrations order by version")
        let migrations = try resources.migrations()
        guard recorded.rowCount == migrations.count else { return false }
        for (index, migration) in migrations.enumerated()
        where recorded.value(index, 0) != String(migration.version) || recorded.value(index, 1) != migration.checksum {
            return false
        }
        let views = try connection.execute("select checksum from warehouse.schema_objects where name = 'export'").scalar
        return views == (try exportChecksum())
    }

    /// Brings the database up to date. Serialized across processes by an advisory lock.
    @discardableResult
    public func migrate(_ connection: Connection) throws -> Report {
        var report = Report()
        let migrations = try resources.migrations()
        let known = migrations.last?.version ?? 0
        if try isUpToDate(connection) {
            report.schemaVersion = known
            return report
        }
        try connection.transaction {
            try lock(connection)
            try connection.executeScript("""
                create schema if not exists warehouse;
                create table if not exists warehouse.schema_migrations (
                    version    integer primary key,
                    name       text not null,
                    checksum   text not null,
                    applied_at timestamptz not null default clock_timestamp()
                );
                create table if not exists warehouse.schema_objects (
                    name       text primary key,
                    checksum   text not null,
                    applied_at timestamptz not null default clock_timestamp()
                );
                """)
        }
        let newest = try connection.execute("select coalesce(max(version), 0) from warehouse.schema_migrations").scalar.flatMap(Int.init) ?? 0
        if newest > known {
            throw WarehouseError.schema(
                "the database was migrated by a newer inbox-warehouse (schema version \(newest), this tool knows up to \(known)); upgrade the tool")
        }
        for migration in migrations {
            try connection.transaction {
                try lock(connection)
                let recorded = try connection.execute("select checksum from warehouse.schema_migrations where version = $1",
                                                      binds: [migration.version])
                if let checksum = recorded.scalar {
                    if checksum != migration.checksum {
                        throw WarehouseError.schema("migration \(migration.name) changed after it was applied (checksum mismatch); migrations are forward-only")
                    }
                    return
                }
                try connection.executeScript(migration.sql)
                try connection.execute("insert into warehouse.schema_migrations (version, name, checksum) values ($1, $2, $3)",
                                       binds: [migration.version, migration.name, migration.checksum])
                report.applied.append(migration.name)
            }
        }
        report.schemaVersion = known
        report.exportViewsRecreated = try recreateExportViewsIfChanged(connection)
        return report
    }

    /// The checksum of the export view files, as recorded after they were created.
    public func exportChecksum() throws -> String {
        let scripts = resources.exportScripts()
        return sha256Hex(Data(scripts.map { "\($0.name)\n\($0.sql)" }.joined(separator: "\n\u{1}\n").utf8))
    }

    private func recreateExportViewsIfChanged(_ connection: Connection) throws -> Bool {
        let scripts = resources.exportScripts()
        let checksum = try exportChecksum()
        return try connection.transaction {
            try lock(connection)
            let recorded = try connection.execute("select checksum from warehouse.schema_objects where name = 'export'").scalar
            let present = try connection.execute("select 1 from pg_namespace where nspname = 'export'").rowCount > 0
            if recorded == checksum && present { return false }
            try connection.executeScript("drop schema if exists export cascade; create schema export;")
            for script in scripts {
                do {
                    try connection.executeScript(script.sql)
                } catch let error as PostgresError {
                    throw WarehouseError.schema("sql/exports/\(script.name): \(error)")
                }
            }
            // The export schema is recreated: grant it to the read-only role again.
            try connection.executeScript("""
                do $$
                begin
                    if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
                        grant usage on schema export to inbox_warehouse_reader;
                        grant select on all tables in schema export to inbox_warehouse_reader;
                        grant execute on all functions in schema export to inbox_warehouse_reader;
                        -- Exports read as the reader (Exporter.takeReaderRole): a view added to
                        -- the schema later by this role is readable by it too.
                        alter default privileges in schema export grant select on tables to inbox_warehouse_reader;
                    end if;
                end
                $$;
                """)
            try connection.execute("""
                insert into warehouse.schema_objects (name, checksum) values ('export', $1)
                on conflict (name) do update set checksum = excluded.checksum, applied_at = clock_timestamp()
                """, binds: [checksum])
            return true
        }
    }

    private func lock(_ connection: Connection) throws {
        try connection.execute("select pg_advisory_xact_lock(hashtext('inbox-warehouse:migrate'))")
    }
}

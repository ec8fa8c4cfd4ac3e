import Crypto
import Foundation
import PostgresLibPQ

/// Applies migrations (numbered, forward-only, checksummed, one transaction each), then
/// (re)creates the facts layer and the export views when their files changed.
///
/// The facts (`sql/facts/`) are derived data: when their definitions change, schema `facts` is
/// dropped, created again from the files and rebuilt from the loaded tables (`facts.rebuild()`),
/// in one transaction with the export views that read it.
public struct Migrator {
    public let resources: SQLResources

    public init(resources: SQLResources) { self.resources = resources }

    public struct Report: Sendable {
        public var applied: [String] = []
        public var exportViewsRecreated = false
        /// The facts layer was (re)created and rebuilt from the loaded tables.
        public var factsRebuilt = false
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
        let facts = try connection.execute("select checksum from warehouse.schema_objects where name = 'facts'").scalar
        return try views == exportChecksum() && facts == factsChecksum()
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
        (report.factsRebuilt, report.exportViewsRecreated) = try recreateDerivedObjectsIfChanged(connection)
        return report
    }

    /// The checksum of the export view files, as recorded after they were created.
    public func exportChecksum() throws -> String {
        let scripts = resources.exportScripts()
        return sha256Hex(Data(scripts.map { "\($0.name)\n\($0.sql)" }.joined(separator: "\n\u{1}\n").utf8))
    }

    /// The checksum of the facts layer's files, as recorded after it was created and rebuilt.
    public func factsChecksum() throws -> String {
        let scripts = resources.factScripts()
        return sha256Hex(Data(scripts.map { "\($0.name)\n\($0.sql)" }.joined(separator: "\n\u{1}\n").utf8))
    }

    /// Recreates the facts layer (and rebuilds it) when its files changed, and the export views
    /// when theirs or the facts changed, in one transaction. Returns (facts rebuilt, views recreated).
    private func recreateDerivedObjectsIfChanged(_ connection: Connection) throws -> (Bool, Bool) {
        let factScripts = resources.factScripts()
        let factsSum = try factsChecksum()
        return try connection.transaction {
            try lock(connection)
            let recorded = try connection.execute("select checksum from warehouse.schema_objects where name = 'facts'").scalar
            let present = try connection.execute("select 1 from pg_namespace where nspname = 'facts'").rowCount > 0
            var factsRebuilt = false
            if recorded != factsSum || !present {
                // The export views read the facts: they go too, and are created again below.
                try connection.executeScript("drop schema if exists export cascade; drop schema if exists facts cascade; create schema facts;")
                for script in factScripts {
                    do {
                        try connection.executeScript(script.sql)
                    } catch let error as PostgresError {
                        throw WarehouseError.schema("sql/facts/\(script.name): \(error)")
                    }
                }
                try Facts.rebuild(connection)
                // Exports read as the reader role (their functions read the facts as it); the
                // loader's role maintains them.
                try connection.executeScript("""
                    do $$
                    begin
                        if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_reader') then
                            grant usage on schema facts to inbox_warehouse_reader;
                            grant select on all tables in schema facts to inbox_warehouse_reader;
                            grant execute on all functions in schema facts to inbox_warehouse_reader;
                        end if;
                        if exists (select 1 from pg_roles where rolname = 'inbox_warehouse_loader') then
                            grant insert, delete on all tables in schema facts to inbox_warehouse_loader;
                        end if;
                    end
                    $$;
                    """)
                try connection.execute("""
                    insert into warehouse.schema_objects (name, checksum) values ('facts', $1)
                    on conflict (name) do update set checksum = excluded.checksum, applied_at = clock_timestamp()
                    """, binds: [factsSum])
                factsRebuilt = true
            }
            return (factsRebuilt, try recreateExportViewsIfChanged(connection))
        }
    }

    /// Runs inside recreateDerivedObjectsIfChanged's transaction.
    private func recreateExportViewsIfChanged(_ connection: Connection) throws -> Bool {
        let scripts = resources.exportScripts()
        let checksum = try exportChecksum()
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

    private func lock(_ connection: Connection) throws {
        try connection.execute("select pg_advisory_xact_lock(hashtext('inbox-warehouse:migrate'))")
    }
}

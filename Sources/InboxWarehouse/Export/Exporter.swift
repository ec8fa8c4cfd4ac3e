import Foundation
import PostgresLibPQ

/// Streams export views as CSV through `COPY ... TO STDOUT`: opens the export's session and
/// snapshot, resolves its parameters there, and hands the bytes to an `AtomicOutputFile`.
///
/// One export, or several from one snapshot (`exportAll`). Recording jobs is the `JobRunner`'s
/// business; every caller goes through it.
public final class Exporter {
    private let connection: Connection
    private let schemaVersion: Int
    public let limits: ExportLimits

    public init(connection: Connection, schemaVersion: Int, limits: ExportLimits = .standard) {
        self.connection = connection
        self.schemaVersion = schemaVersion
        self.limits = limits
    }

    /// The role every export reads as (migration 0002): SELECT on the data and the export views,
    /// EXECUTE on the export functions, nothing that writes.
    public static let readerRole = "inbox_warehouse_reader"

    /// Hears the number of data rows written so far while a file is written, at most once per
    /// `progressInterval` seconds (the web page's progress of a running job). Nil: not counted.
    public var progress: ((Int) -> Void)?
    public var progressInterval = 1.0

    /// Whether the last export transaction ran as `readerRole`.
    public private(set) var runsAsReader = false

    /// Checks parameters for these exports without exporting anything (the resolver in the
    /// database, with this exporter's limits). Returns them resolved.
    public func resolve(_ parameters: ExportParameters, for types: [ExportType]) throws -> ExportParameters {
        try parameters.resolved(on: connection, isRangeRequired: types.contains { !$0.isRangeOptional }, limits: limits)
    }

    /// Writes one export to `path`: a regular file (atomically, manifest beside it), or in place
    /// to `-` (standard output), a standard-stream path, a character device or a FIFO. Returns the
    /// manifest (nil when written in place: no manifest is written beside a device).
    @discardableResult
    public func export(_ type: ExportType, _ parameters: ExportParameters, to path: String) throws -> ExportManifest? {
        let target = try OutputTarget(path: path)
        let resolved = try begin(parameters, for: [type])
        defer { _ = try? connection.execute("rollback") }
        guard case .file(let filePath) = target else {
            let sink = try AtomicOutputFile(target)
            do {
                _ = try write(type, resolved, into: sink)
                try sink.finish()
            } catch {
                sink.discard()
                throw error
            }
            return nil
        }
        return try writeFile(type, resolved, path: filePath)
    }

    /// Writes several exports (all twelve by default) into `directory` as `<slug>.csv`, all from
    /// one snapshot, in catalogue order. `onFile` hears each manifest once its file is in place,
    /// so a caller knows which files exist when a later one fails.
    @discardableResult
    public func exportAll(_ parameters: ExportParameters, types: [ExportType] = ExportType.all, directory: String,
                          onFile: (ExportManifest) -> Void = { _ in }) throws -> [ExportManifest] {
        let resolved = try begin(parameters, for: types)
        defer { _ = try? connection.execute("rollback") }
        try makeDirectory(atPath: directory, what: "--output-dir")
        var manifests: [ExportManifest] = []
        for type in types {
            let path = URL(fileURLWithPath: directory).appendingPathComponent("\(type.slug).csv").path
            let manifest = try writeFile(type, resolved, path: path)
            manifests.append(manifest)
            onFile(manifest)
        }
        return manifests
    }

    // MARK: Session

    /// Pins the session settings that change output bytes, opens one consistent read-only
    /// snapshot, takes the least-privilege reader role for it when the session may, resolves the
    /// parameters and sets them in it. Rolls back what it began if any step fails.
    private func begin(_ parameters: ExportParameters, for types: [ExportType]) throws -> ExportParameters {
        try connection.execute("set DateStyle = 'ISO, YMD'")
        try connection.execute("set IntervalStyle = 'postgres'")
        try connection.execute("set client_encoding = 'UTF8'")
        try connection.execute("set extra_float_digits = 1")
        try connection.execute("set lc_numeric = 'C'")
        // JIT compilation costs seconds on these analytical plans and saves little: off.
        try connection.execute("set jit = off")
        try connection.execute("begin isolation level repeatable read, read only")
        do {
            try takeReaderRole()
            let resolved = try resolve(parameters, for: types)
            // Stored as resolved, not through set_parameters, which would resolve them again
            // (the time zone check alone reads pg_timezone_names, about 30 ms).
            try connection.execute("""
                select export.store_parameters(
                    range_start => $1::timestamptz, range_end => $2::timestamptz, time_zone => $3,
                    channel_ids => $4, as_of => $5, content_policy => $6, is_scheduled => $7)
                """, binds: [resolved.rangeStart, resolved.rangeEnd, resolved.timeZone, resolved.channelIDs, resolved.asOf,
                             resolved.contentPolicy.rawValue, resolved.isScheduled])
            return resolved
        } catch {
            _ = try? connection.execute("rollback")
            throw error
        }
    }

    /// `SET LOCAL ROLE inbox_warehouse_reader` when the role exists and the session may take it
    /// (a superuser, the owner that created it, or a login role granted it). Otherwise the export
    /// keeps the session's own rights, still in a read-only transaction (docs/index.md).
    private func takeReaderRole() throws {
        // PostgreSQL 16 separates the right to SET a role from membership in it.
        let privilege = connection.serverVersion >= 160000 ? "SET" : "MEMBER"
        let mayTake = try connection.execute("""
            select coalesce(bool_or(pg_has_role(r.oid, $2)), false)
            from pg_roles r where r.rolname = $1
            """, binds: [Self.readerRole, privilege]).scalar == "t"
        runsAsReader = mayTake
        if mayTake {
            try connection.execute("set local role \(try connection.escapeIdentifier(Self.readerRole))")
        }
    }

    // MARK: Writing

    private func writeFile(_ type: ExportType, _ parameters: ExportParameters, path: String) throws -> ExportManifest {
        let started = Date()
        let file = try AtomicOutputFile(finalPath: path)
        do {
            let rows = try write(type, parameters, into: file)
            try file.complete()
            let finished = Date()
            let manifest = ExportManifest(
                type: type.slug, file: URL(fileURLWithPath: path).lastPathComponent, parameters: parameters,
                rows: rows, bytes: file.bytesWritten, sha256: file.sha256, schemaVersion: schemaVersion,
                startedAt: ExportManifest.timestamp(started), finishedAt: ExportManifest.timestamp(finished),
                seconds: (finished.timeIntervalSince(started) * 1000).rounded() / 1000)
            // Both files are complete on disk before either is renamed: a manifest that cannot be
            // written (disk full) leaves no CSV under the final name either.
            let manifestFile = try writeManifest(manifest, besides: path)
            do {
                try file.commit()
            } catch {
                manifestFile.discard()
                throw error
            }
            try manifestFile.commit()
            return manifest
        } catch {
            file.discard()
            throw error
        }
    }

    /// Header line, then the COPY stream. Returns the number of data rows.
    private func write(_ type: ExportType, _ parameters: ExportParameters, into sink: AtomicOutputFile) throws -> Int {
        let columns = try connection.execute("""
            select attname from pg_attribute
            where attrelid = ('export.' || quote_ident($1))::regclass and attnum > 0 and not attisdropped
            order by attnum
            """, binds: [type.view])
        let headers = type.headers(locale: parameters.headerLocale)
        guard columns.rowCount == headers.count else {
            throw WarehouseError.schema("export.\(type.view) has \(columns.rowCount) columns but \(headers.count) headers; the view and its headers disagree")
        }
        if parameters.includesBOM { try sink.write([0xEF, 0xBB, 0xBF]) }
        try sink.write(Array(csvLine(headers).utf8))
        let view = try connection.escapeIdentifier(type.view)
        var selectList = "*"
        if parameters.isSpreadsheetSafe {
            selectList = try (0..<columns.rowCount).map {
                "export.spreadsheet_safe(\(try connection.escapeIdentifier(columns.value($0, 0) ?? ""))::text)"
            }.joined(separator: ", ")
        }
        let sql = "copy (select \(selectList) from export.\(view)) to stdout (format csv)"
        guard let progress else {
            return try connection.copyOut(sql) { chunk in try sink.write(chunk) }
        }
        // libpq hands one data row per chunk: count them, report at most once per interval.
        var rows = 0
        var lastReport = Date()
        let interval = progressInterval
        return try connection.copyOut(sql) { chunk in
            try sink.write(chunk)
            rows += 1
            if rows & 1023 == 0, Date().timeIntervalSince(lastReport) >= interval {
                lastReport = Date()
                progress(rows)
            }
        }
    }

    /// Writes the manifest to its temporary file, complete and synced; the caller commits it.
    private func writeManifest(_ manifest: ExportManifest, besides path: String) throws -> AtomicOutputFile {
        let data = try manifest.encodedForFile()
        let file = try AtomicOutputFile(finalPath: path + OutputTarget.manifestSuffix)
        do {
            try file.write(Array(data))
            try file.complete()
        } catch {
            file.discard()
            throw error
        }
        return file
    }
}

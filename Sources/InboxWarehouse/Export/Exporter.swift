import Crypto
import Foundation
import PostgresLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// Who may see message content in the messages export.
public enum ContentPolicy: String, Sendable, CaseIterable {
    /// As in Hootsuite: content only for TWITTER channels, and only in on-demand exports.
    case twitter
    /// Content for every medium.
    case all
    /// Never any content.
    case none
}

/// A bound of the date range as the user wrote it: a calendar date read in the export's time
/// zone, or an RFC 3339 instant.
public enum RangeBound: Sendable, Equatable, CustomStringConvertible {
    case date(year: Int, month: Int, day: Int)
    case instant(String)

    /// Parses `2026-03-01` or `2026-03-01T09:00:00+01:00`; nil when neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
           let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
           year >= 1, (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) {
            self = .date(year: year, month: month, day: day)
            return
        }
        guard let instant = UTCInstant.parse(text) else { return nil }
        self = .instant(instant.postgresLiteral)
    }

    public var description: String {
        switch self {
        case .date(let year, let month, let day):
            return String(format: "%04d-%02d-%02d", year, month, day)
        case .instant(let literal):
            return literal
        }
    }
}

/// Everything an export needs to know: type, range, zone, channels, as-of, formatting.
public struct ExportRequest: Sendable {
    public var type: ExportType
    public var from: RangeBound?
    public var to: RangeBound?
    public var timeZone = "UTC"
    public var channelIDs: [String] = []
    /// The as-of moment T as an RFC 3339 instant; nil means now.
    public var asOf: String?
    public var headerLocale: HeaderLocale = .en
    public var includeBOM = false
    public var contentPolicy: ContentPolicy = .twitter
    public var isScheduled = false
    /// Neutralize cells a spreadsheet would read as formulas (OWASP CSV injection); off by default.
    public var isSpreadsheetSafe = false
    /// The longest range, in calendar months.
    public var maximumSpanMonths = 18
    /// How far back from as-of data may be exported, in months.
    public var retentionMonths = 18

    public init(type: ExportType) { self.type = type }
}

/// The parameters after validation, as the database computed them.
public struct ResolvedParameters: Sendable, Codable {
    public let rangeStart: String?
    public let rangeEnd: String?
    public let timeZone: String
    public let channelIDs: [String]
    public let asOf: String
}

/// What one written export file holds: the manifest beside it.
public struct ExportManifest: Codable, Sendable {
    public struct Parameters: Codable, Sendable {
        public let from: String?
        public let to: String?
        public let rangeStart: String?
        public let rangeEnd: String?
        public let timeZone: String
        public let channelIDs: [String]
        public let asOf: String
        public let headerLocale: String
        public let bom: Bool
        public let contentPolicy: String
        public let scheduled: Bool
        public let spreadsheetSafe: Bool

        enum CodingKeys: String, CodingKey {
            case from, to, rangeStart = "range_start", rangeEnd = "range_end", timeZone = "time_zone",
                 channelIDs = "channel_ids", asOf = "as_of", headerLocale = "header_locale", bom,
                 contentPolicy = "content_policy", scheduled, spreadsheetSafe = "spreadsheet_safe"
        }
    }

    public let type: String
    public let file: String
    public let parameters: Parameters
    public let rows: Int
    public let bytes: Int64
    public let sha256: String
    public let schemaVersion: Int
    public let startedAt: String
    public let finishedAt: String
    public let seconds: Double

    enum CodingKeys: String, CodingKey {
        case type, file, parameters, rows, bytes, sha256, schemaVersion = "schema_version",
             startedAt = "started_at", finishedAt = "finished_at", seconds
    }
}

/// Streams export views as CSV through `COPY ... TO STDOUT`, into files that appear under their
/// final name only when complete.
public final class Exporter {
    private let connection: Connection
    private let schemaVersion: Int

    public init(connection: Connection, schemaVersion: Int) {
        self.connection = connection
        self.schemaVersion = schemaVersion
    }

    /// Checks a request against the database without writing anything: time zone, dates, span,
    /// retention window, channels. Throws `WarehouseError.invalidParameter` with a one-line message.
    public func validate(_ request: ExportRequest) throws -> ResolvedParameters {
        let zone = request.timeZone
        guard !zone.isEmpty, zone.utf8.count <= 100,
              try connection.execute("select 1 from pg_timezone_names where name = $1", [zone]).rowCount > 0 else {
            throw WarehouseError.invalidParameter("unknown time zone \"\(RecordValidator.truncated(zone))\" (use an IANA name such as Europe/Paris)")
        }
        if request.from == nil && request.to == nil && !request.type.rangeIsOptional {
            throw WarehouseError.invalidParameter("\(request.type.slug) needs a date range: --from DATE --to DATE")
        }
        if (request.from == nil) != (request.to == nil) {
            throw WarehouseError.invalidParameter("give both --from and --to, or neither")
        }
        let asOf: String
        if let given = request.asOf {
            guard let instant = UTCInstant.parse(given) else {
                throw WarehouseError.invalidParameter("--as-of \"\(RecordValidator.truncated(given))\" is not an RFC 3339 timestamp with an offset")
            }
            asOf = instant.postgresLiteral
        } else {
            asOf = try connection.execute("select to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'").scalar ?? ""
        }
        var start: String?
        var end: String?
        if let from = request.from, let to = request.to {
            // R = [from 00:00, to + 1 day 00:00) in the zone for dates; [from, to) for instants.
            let bounds = try connection.execute("""
                with input as (
                    select $1::text as from_kind, $2::text as from_value, $3::text as to_kind, $4::text as to_value,
                           $5::text as zone, $6::int as span_months, $7::timestamptz as as_of, $8::int as retention_months
                ), bounds as (
                    select
                        case when from_kind = 'date' then (from_value::date)::timestamp at time zone zone
                             else from_value::timestamptz end as range_start,
                        case when to_kind = 'date' then (to_value::date + 1)::timestamp at time zone zone
                             else to_value::timestamptz end as range_end,
                        case when from_kind = 'date' then from_value::date
                             else (from_value::timestamptz at time zone zone)::date end as from_date,
                        case when to_kind = 'date' then to_value::date
                             else (to_value::timestamptz at time zone zone)::date end as to_date,
                        to_kind = 'date' and from_kind = 'date' as dates_only,
                        from_value, to_value, span_months, as_of, retention_months, zone
                    from input
                )
                select
                    to_char(range_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                    to_char(range_end at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                    case when dates_only then to_date < from_date else range_end < range_start end,
                    case when dates_only then to_date > (from_date + make_interval(months => span_months))::date
                         else range_end > ((range_start at time zone zone) + make_interval(months => span_months)) at time zone zone end,
                    range_start < ((as_of at time zone zone) - make_interval(months => retention_months)) at time zone zone
                from bounds
                """, [
                    from.kind, from.value, to.kind, to.value, zone, String(request.maximumSpanMonths), asOf,
                    String(request.retentionMonths),
                ])
            start = bounds.value(0, 0)
            end = bounds.value(0, 1)
            if bounds.value(0, 2) == "t" {
                throw WarehouseError.invalidParameter("--to \(to) is before --from \(from)")
            }
            if bounds.value(0, 3) == "t" {
                throw WarehouseError.invalidParameter("the range \(from) to \(to) is longer than \(request.maximumSpanMonths) months (the maximum span)")
            }
            if bounds.value(0, 4) == "t" {
                throw WarehouseError.invalidParameter("the range starts before the \(request.retentionMonths)-month retention window (counted back from the as-of moment); data that old is not kept")
            }
        }
        var channels: [String] = []
        for id in request.channelIDs where !channels.contains(id) { channels.append(id) }
        if !channels.isEmpty {
            let unknown = try connection.execute("""
                select id from unnest($1::text[]) with ordinality as given(id, position)
                where not exists (select 1 from inbox.channels c where c.channel_id = given.id)
                order by position
                """, [postgresTextArray(channels)])
            if unknown.rowCount > 0 {
                let names = (0..<unknown.rowCount).compactMap { unknown.value($0, 0) }.map { "\"\(RecordValidator.truncated($0))\"" }
                throw WarehouseError.invalidParameter("unknown channel id \(names.joined(separator: ", "))")
            }
        }
        return ResolvedParameters(rangeStart: start, rangeEnd: end, timeZone: zone, channelIDs: channels, asOf: asOf)
    }

    /// Pins the session settings that change output bytes, then opens one consistent read-only
    /// snapshot, takes the least-privilege reader role for it when the session may, and sets the
    /// export parameters in it. Rolls back what it began if any step fails.
    private func begin(_ request: ExportRequest, _ parameters: ResolvedParameters) throws {
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
            try connection.execute("""
                select export.set_parameters(
                    range_start => $1::timestamptz, range_end => $2::timestamptz, time_zone => $3::text,
                    channel_ids => $4::text[], as_of => $5::timestamptz, content_policy => $6::text,
                    is_scheduled => $7::boolean)
                """, [parameters.rangeStart, parameters.rangeEnd, parameters.timeZone,
                      postgresTextArray(parameters.channelIDs), parameters.asOf, request.contentPolicy.rawValue,
                      request.isScheduled ? "true" : "false"])
        } catch {
            _ = try? connection.execute("rollback")
            throw error
        }
    }

    /// The role every export reads as (migration 0002): SELECT on the data and the export views,
    /// EXECUTE on the export functions, nothing that writes.
    public static let readerRole = "inbox_warehouse_reader"

    /// Whether the current export transaction runs as `readerRole`.
    public private(set) var runsAsReader = false

    /// `SET LOCAL ROLE inbox_warehouse_reader` when the role exists and the session may take it
    /// (a superuser, the owner that created it, or a login role granted it). Otherwise the export
    /// keeps the session's own rights, still in a read-only transaction (docs/index.md).
    private func takeReaderRole() throws {
        // PostgreSQL 16 separates the right to SET a role from membership in it.
        let privilege = connection.serverVersion >= 160000 ? "SET" : "MEMBER"
        let mayTake = try connection.execute("""
            select coalesce(bool_or(pg_has_role(r.oid, $2)), false)
            from pg_roles r where r.rolname = $1
            """, [Self.readerRole, privilege]).scalar == "t"
        runsAsReader = mayTake
        if mayTake {
            try connection.execute("set local role \(try connection.escapeIdentifier(Self.readerRole))")
        }
    }

    /// Writes one export to `path`: a regular file (atomically, manifest beside it), or in place
    /// to `-` (standard output), a standard-stream path, a character device or a FIFO. Returns the
    /// manifest (nil when written in place: no manifest is written beside a device).
    @discardableResult
    public func export(_ request: ExportRequest, to path: String) throws -> ExportManifest? {
        let target = try OutputTarget(path: path)
        let parameters = try validate(request)
        try begin(request, parameters)
        defer { _ = try? connection.execute("rollback") }
        guard case .file(let filePath) = target else {
            let sink = try AtomicOutputFile(target)
            do {
                _ = try write(request, into: sink)
                try sink.finish()
            } catch {
                sink.discard()
                throw error
            }
            return nil
        }
        return try writeFile(request, parameters, path: filePath)
    }

    /// Writes every export type into `directory` as `<slug>.csv`, all from one snapshot.
    public func exportAll(_ template: ExportRequest, directory: String) throws -> [ExportManifest] {
        var manifests: [ExportManifest] = []
        let parameters = try validate(template)
        try makeDirectory(atPath: directory, what: "--output-dir")
        try begin(template, parameters)
        defer { _ = try? connection.execute("rollback") }
        for type in ExportType.all {
            var request = template
            request.type = type
            let path = URL(fileURLWithPath: directory).appendingPathComponent("\(type.slug).csv").path
            manifests.append(try writeFile(request, parameters, path: path))
        }
        return manifests
    }

    private func writeFile(_ request: ExportRequest, _ parameters: ResolvedParameters, path: String) throws -> ExportManifest {
        let started = Date()
        let file = try AtomicOutputFile(finalPath: path)
        do {
            let rows = try write(request, into: file)
            try file.complete()
            let finished = Date()
            let manifest = ExportManifest(
                type: request.type.slug,
                file: URL(fileURLWithPath: path).lastPathComponent,
                parameters: .init(from: request.from?.description, to: request.to?.description,
                                  rangeStart: parameters.rangeStart, rangeEnd: parameters.rangeEnd,
                                  timeZone: parameters.timeZone, channelIDs: parameters.channelIDs,
                                  asOf: parameters.asOf, headerLocale: request.headerLocale.rawValue,
                                  bom: request.includeBOM, contentPolicy: request.contentPolicy.rawValue,
                                  scheduled: request.isScheduled, spreadsheetSafe: request.isSpreadsheetSafe),
                rows: rows, bytes: file.bytesWritten, sha256: file.sha256,
                schemaVersion: schemaVersion,
                startedAt: isoTimestamp(started), finishedAt: isoTimestamp(finished),
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
    private func write(_ request: ExportRequest, into sink: AtomicOutputFile) throws -> Int {
        if request.includeBOM { try sink.write([0xEF, 0xBB, 0xBF]) }
        try sink.write(Array(csvLine(request.type.headers(locale: request.headerLocale)).utf8))
        let view = try connection.escapeIdentifier(request.type.view)
        var selectList = "*"
        if request.isSpreadsheetSafe {
            let columns = try connection.execute("""
                select attname from pg_attribute
                where attrelid = ('export.' || quote_ident($1))::regclass and attnum > 0 and not attisdropped
                order by attnum
                """, [request.type.view])
            selectList = try (0..<columns.rowCount).map {
                "export.spreadsheet_safe(\(try connection.escapeIdentifier(columns.value($0, 0) ?? ""))::text)"
            }.joined(separator: ", ")
        }
        return try connection.copyOut("copy (select \(selectList) from export.\(view)) to stdout (format csv)") { chunk in
            try sink.write(chunk)
        }
    }

    /// Writes the manifest to its temporary file, complete and synced; the caller commits it.
    private func writeManifest(_ manifest: ExportManifest, besides path: String) throws -> AtomicOutputFile {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(manifest) + Data("\n".utf8)
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

extension RangeBound {
    var kind: String {
        if case .date = self { return "date" }
        return "instant"
    }
    var value: String { description }
}

/// A CSV line with RFC 4180 quoting, the same rule PostgreSQL's COPY csv applies.
func csvLine(_ cells: [String]) -> String {
    cells.map { cell in
        if cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || cell.isEmpty {
            return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return cell
    }.joined(separator: ",") + "\n"
}

/// A PostgreSQL array literal of text values, passed as one parameter (never spliced into SQL).
func postgresTextArray(_ values: [String]) -> String {
    "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        .joined(separator: ",") + "}"
}

func isoTimestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}

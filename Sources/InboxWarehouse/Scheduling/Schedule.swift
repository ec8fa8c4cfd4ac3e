import Foundation
import PostgresLibPQ

/// How often a schedule exports: each run exports the previous complete period of this length in
/// the schedule's time zone.
public enum Frequency: String, Sendable, CaseIterable, Codable {
    case hourly, daily, weekly, monthly

    /// The `date_trunc` unit of the period (weeks start on Monday, as ISO 8601 and PostgreSQL).
    var unit: String {
        switch self {
        case .hourly: return "hour"
        case .daily: return "day"
        case .weekly: return "week"
        case .monthly: return "month"
        }
    }
}

/// Where a schedule delivers: a local directory or an SFTP server. Below it, one folder per
/// export type (docs/scheduling.md, "Delivery layout").
public enum Destination: Sendable, Equatable, CustomStringConvertible {
    /// An absolute local directory.
    case directory(String)
    /// `sftp://user@host[:port]/path`.
    case sftp(SFTPLocation)

    /// Parses a destination. A relative local path is made absolute against `currentDirectory`,
    /// so the scheduler finds it whatever directory it runs in.
    public init(parsing text: String, currentDirectory: String = FileManager.default.currentDirectoryPath) throws {
        if text.lowercased().hasPrefix("sftp://") {
            self = .sftp(try SFTPLocation(parsing: text))
            return
        }
        if text.contains("://") {
            throw WarehouseError.invalidParameter("destination \"\(messageText(text))\" is neither a directory nor an sftp://user@host[:port]/path URL")
        }
        guard !text.isEmpty else { throw WarehouseError.invalidParameter("the destination is empty") }
        let url = text.hasPrefix("/") ? URL(fileURLWithPath: text) : URL(fileURLWithPath: currentDirectory).appendingPathComponent(text)
        self = .directory(url.standardizedFileURL.path)
    }

    public var description: String {
        switch self {
        case .directory(let path): return path
        case .sftp(let location): return location.description
        }
    }
}

/// An SFTP destination: user, host, port and base directory.
public struct SFTPLocation: Sendable, Equatable, CustomStringConvertible {
    public let user: String
    public let host: String
    public let port: Int?
    /// The base directory on the server: absolute (`/srv/exports`), or relative to the user's
    /// home when the URL path starts with `/~/` (`sftp://u@h/~/exports` → `exports`).
    public let path: String

    public init(user: String, host: String, port: Int?, path: String) {
        self.user = user
        self.host = host
        self.port = port
        self.path = path
    }

    public init(parsing text: String) throws {
        func invalid(_ why: String) -> WarehouseError {
            .invalidParameter("destination \"\(messageText(text))\": \(why) (expected sftp://user@host[:port]/path)")
        }
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "sftp" else {
            throw invalid("not a valid URL")
        }
        guard let user = components.user, !user.isEmpty else { throw invalid("the user is missing") }
        guard components.password == nil else { throw invalid("passwords are not accepted, use key authentication") }
        guard var host = components.host, !host.isEmpty else { throw invalid("the host is missing") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // Nothing that ssh could read as an option or that needs quoting.
        let allowedUser = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let allowedHost = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")
        guard !user.hasPrefix("-"), user.unicodeScalars.allSatisfy(allowedUser.contains) else { throw invalid("the user name has characters ssh does not accept") }
        guard !host.hasPrefix("-"), host.unicodeScalars.allSatisfy(allowedHost.contains) else { throw invalid("the host name is not valid") }
        if let port = components.port, !(1...65535).contains(port) { throw invalid("the port is out of range") }
        var path = components.percentEncodedPath.removingPercentEncoding ?? components.path
        if path.hasPrefix("/~/") { path = String(path.dropFirst(3)) } else if path == "/~" { path = "" }
        if path.isEmpty { path = "" }
        guard !path.contains("\n"), !path.contains("\r"), !path.contains("\0") else { throw invalid("the path has control characters") }
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.init(user: user, host: host, port: components.port, path: path)
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let portPart = port.map { ":\($0)" } ?? ""
        let pathPart = path.hasPrefix("/") ? path : "/~/" + path
        return "sftp://\(user)@\(hostPart)\(portPart)\(pathPart)"
    }
}

/// A stored schedule.
public struct Schedule: Sendable, Codable, Equatable {
    public let scheduleID: Int64
    public let name: String
    public let exportType: String
    public let frequency: Frequency
    public let timeZone: String
    public let channelIDs: [String]
    public let destination: String
    /// The start of the first period this schedule exports (RFC 3339, UTC).
    public let startsAt: String
    public let isEnabled: Bool
    public let createdAt: String
    /// The saved source imported before each due period is exported (`chatwoot:NAME`), if any.
    public var importSource: String? = nil

    enum CodingKeys: String, CodingKey {
        case scheduleID = "schedule_id", name, exportType = "type", frequency, timeZone = "time_zone",
             channelIDs = "channel_ids", destination, startsAt = "starts_at", isEnabled = "enabled",
             createdAt = "created_at", importSource = "import"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scheduleID, forKey: .scheduleID)
        try container.encode(name, forKey: .name)
        try container.encode(exportType, forKey: .exportType)
        try container.encode(frequency, forKey: .frequency)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(channelIDs, forKey: .channelIDs)
        try container.encode(destination, forKey: .destination)
        try container.encode(startsAt, forKey: .startsAt)
        try container.encode(isEnabled, forKey: .isEnabled)
        try container.encode(createdAt, forKey: .createdAt)
        // null rather than absent: every schedule has the key.
        try container.encode(importSource, forKey: .importSource)
    }

    /// The parameters of this schedule's export of `period`, as of `asOf`: the period's instants,
    /// the schedule's zone and channels, and never any message content (spec, "Content policy").
    public func parameters(for period: SchedulePeriod, asOf: Instant) -> ExportParameters {
        ExportParameters(from: RangeBound(period.start), to: RangeBound(period.end), timeZone: timeZone, channelIDs: channelIDs,
                         asOf: asOf, contentPolicy: .none, isScheduled: true)
    }
}

/// What `schedule add` asks for.
public struct ScheduleDefinition: Sendable {
    public var name: String
    public var type: ExportType
    public var frequency: Frequency
    /// The schedule's zone and channels (the rest is set per run: range, as-of, no content).
    public var parameters = ExportParameters()
    public var destination: Destination
    /// The first period to export: the period containing this date or instant (read in the
    /// zone). Nil: the previous complete period at the time the schedule is added, so the first
    /// run exports it.
    public var start: RangeBound?
    /// Now, for tests; nil is the server's clock.
    public var now: Instant?
    /// A start older than this many months before now is refused (its periods are not exportable).
    public var retentionMonths = 18
    /// A saved source (`chatwoot:NAME`) to import before each due period is exported; nil for none.
    public var importSource: String?

    public init(name: String, type: ExportType, frequency: Frequency, destination: Destination) {
        self.name = name
        self.type = type
        self.frequency = frequency
        self.destination = destination
    }
}

/// Adds, lists and removes schedules (`warehouse.export_schedules`).
public struct ScheduleStore {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// Validates and stores a schedule; returns it as stored.
    @discardableResult
    public func add(_ definition: ScheduleDefinition) throws -> Schedule {
        let name = definition.name
        guard !name.isEmpty, name.utf8.count <= 200, !name.contains(where: { $0.isNewline }) else {
            throw WarehouseError.invalidParameter("a schedule name is 1 to 200 characters on one line")
        }
        // Zone and channels checked and normalised by the export parameters' one resolver.
        let resolved = try definition.parameters.resolved(on: connection, isRangeRequired: false, limits: .none)
        let zone = resolved.timeZone
        let channels = resolved.channelIDs
        // The first period: the one containing --start, else the one before the current period.
        let start = try connection.execute("""
            with input as (
                select $1::text as unit, $2::text as zone, $3::text as start_kind, $4::text as start_value,
                       coalesce($5::timestamptz, now()) as now_at, $6::int as retention_months,
                       case $1::text when 'hour' then interval '1 hour' when 'day' then interval '1 day'
                                     when 'week' then interval '7 days' else interval '1 month' end as step
            ), first_local as (
                select case
                           when start_kind = 'date' then date_trunc(unit, start_value::date::timestamp)
                           when start_kind = 'instant' then date_trunc(unit, start_value::timestamptz at time zone zone)
                           else date_trunc(unit, now_at at time zone zone) - step
                       end as local_start,
                       zone, now_at, retention_months
                from input
            )
            select to_char((local_start at time zone zone) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   (local_start at time zone zone) < ((now_at at time zone zone) - make_interval(months => retention_months)) at time zone zone
            from first_local
            """, binds: [definition.frequency.unit, zone, definition.start.map(\.kind) ?? "none", definition.start?.description,
                         definition.now, definition.retentionMonths])
        guard let startsAt = start.value(0, 0) else { throw WarehouseError.invalidParameter("cannot compute the first period") }
        if start.value(0, 1) == "t" {
            throw WarehouseError.invalidParameter("--start is before the \(definition.retentionMonths)-month retention window; those periods cannot be exported")
        }
        var importSourceID: Int64?
        if let reference = definition.importSource {
            let sourceName = try ImportSourceStore.name(inReference: reference)
            guard let source = try ImportSourceStore(connection: connection).named(sourceName), source.reference == reference else {
                throw WarehouseError.invalidParameter("no saved source \(reference): save one with import chatwoot ... --save-as \(sourceName)")
            }
            importSourceID = source.importSourceID
        }
        do {
            let inserted = try connection.execute("""
                insert into warehouse.export_schedules (name, export_type, frequency, time_zone, channel_ids, destination, starts_at,
                                                        import_source_id)
                values ($1, $2, $3, $4, $5::text[], $6, $7::timestamptz, $8)
                returning schedule_id
                """, binds: [name, definition.type.slug, definition.frequency.rawValue, zone, channels,
                             definition.destination.description, startsAt, importSourceID])
            let id = inserted.scalar ?? ""
            guard let schedule = try list().first(where: { String($0.scheduleID) == id }) else {
                throw WarehouseError.schema("the schedule just added cannot be read back")
            }
            return schedule
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw WarehouseError.invalidParameter("a schedule named \"\(messageText(name))\" already exists")
        }
    }

    /// Every schedule, by name.
    public func list() throws -> [Schedule] {
        let result = try connection.execute("""
            select schedule_id, name, export_type, frequency, time_zone, array_to_json(channel_ids)::text, destination,
                   to_char(starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), is_enabled,
                   to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   (select source_kind || ':' || src.name from warehouse.import_sources src
                    where src.import_source_id = sch.import_source_id)
            from warehouse.export_schedules sch
            order by name collate "C"
            """)
        return try (0..<result.rowCount).map { row in
            let channels = try JSONDecoder().decode([String].self, from: Data((result.value(row, 5) ?? "[]").utf8))
            return Schedule(
                scheduleID: Int64(result.value(row, 0) ?? "") ?? 0, name: result.value(row, 1) ?? "",
                exportType: result.value(row, 2) ?? "", frequency: Frequency(rawValue: result.value(row, 3) ?? "") ?? .daily,
                timeZone: result.value(row, 4) ?? "UTC", channelIDs: channels, destination: result.value(row, 6) ?? "",
                startsAt: result.value(row, 7) ?? "", isEnabled: result.value(row, 8) == "t", createdAt: result.value(row, 9) ?? "",
                importSource: result.value(row, 10))
        }
    }

    /// Removes a schedule; its jobs stay (with no schedule id, the name kept). Returns false when
    /// no schedule has that name.
    @discardableResult
    public func remove(name: String) throws -> Bool {
        try connection.execute("delete from warehouse.export_schedules where name = $1", binds: [name]).affectedRows > 0
    }
}

extension RangeBound {
    /// `date` or `instant`, as the period query reads it.
    var kind: String {
        if case .date = self { return "date" }
        return "instant"
    }
}

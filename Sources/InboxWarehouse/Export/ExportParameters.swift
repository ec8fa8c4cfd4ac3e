import Foundation
import PostgresLibPQ

/// Who may see message content in the messages export.
public enum ContentPolicy: String, Sendable, CaseIterable, Codable {
    /// As in Hootsuite: content only for TWITTER channels, and only in on-demand exports.
    case twitter
    /// Content for every medium.
    case all
    /// Never any content.
    case none
}

/// A bound of the date range as the user wrote it: a calendar date read in the export's time
/// zone, or an instant.
public enum RangeBound: Sendable, Equatable, CustomStringConvertible {
    case date(year: Int, month: Int, day: Int)
    case instant(Instant)

    /// Parses `2026-03-01` or an instant with an offset (`2026-03-01T09:00:00+01:00`); nil when
    /// neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
           parts.allSatisfy({ $0.allSatisfy(\.isASCII) }),
           let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
           CivilCalendar.isValidDate(year: year, month: month, day: day) {
            self = .date(year: year, month: month, day: day)
            return
        }
        guard let instant = Instant(text) else { return nil }
        self = .instant(instant)
    }

    /// `2026-03-01`, or the instant as a PostgreSQL literal in UTC: the form the resolver reads.
    public var description: String {
        switch self {
        case .date(let year, let month, let day):
            return String(format: "%04d-%02d-%02d", year, month, day)
        case .instant(let instant):
            return instant.postgresLiteral
        }
    }
}

extension RangeBound: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let bound = RangeBound(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a date or an instant: \(messageText(text))")
        }
        self = bound
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Everything that says what an export contains and how it is written, apart from which export
/// it is: range, zone, channels, as-of, header locale, content policy and formatting. The same
/// value is the request (CLI, demo, schedules, tests), the job's stored parameters and the
/// manifest's `parameters`; `resolved(on:)` checks and normalises it in the database.
public struct ExportParameters: Sendable, Equatable {
    /// The range as written: inclusive dates read in `timeZone`, or instants (R = [from, to)).
    public var from: RangeBound?
    public var to: RangeBound?
    /// An IANA name, any case; canonical once resolved.
    public var timeZone: String
    /// Only conversations of these channels; empty means all.
    public var channelIDs: [String]
    /// The moment T of the export; nil means now (the resolved value is always set).
    public var asOf: Instant?
    public var headerLocale: HeaderLocale
    public var contentPolicy: ContentPolicy
    /// A scheduled export never writes message content, whatever the policy.
    public var isScheduled: Bool
    /// Start the file with a UTF-8 byte-order mark.
    public var includesBOM: Bool
    /// Neutralize cells a spreadsheet would read as formulas (OWASP CSV injection).
    public var isSpreadsheetSafe: Bool
    /// R as the database resolved it (UTC, `YYYY-MM-DD HH:MM:SS.ffffff+00`); nil before
    /// resolution and without a range.
    public internal(set) var rangeStart: String?
    public internal(set) var rangeEnd: String?

    public init(from: RangeBound? = nil, to: RangeBound? = nil, timeZone: String = "UTC", channelIDs: [String] = [],
                asOf: Instant? = nil, headerLocale: HeaderLocale = .en, contentPolicy: ContentPolicy = .twitter,
                isScheduled: Bool = false, includesBOM: Bool = false, isSpreadsheetSafe: Bool = false) {
        self.from = from
        self.to = to
        self.timeZone = timeZone
        self.channelIDs = channelIDs
        self.asOf = asOf
        self.headerLocale = headerLocale
        self.contentPolicy = contentPolicy
        self.isScheduled = isScheduled
        self.includesBOM = includesBOM
        self.isSpreadsheetSafe = isSpreadsheetSafe
    }
}

extension ExportParameters: Codable {
    enum CodingKeys: String, CodingKey {
        case from, to, rangeStart = "range_start", rangeEnd = "range_end", timeZone = "time_zone",
             channelIDs = "channel_ids", asOf = "as_of", headerLocale = "header_locale", contentPolicy = "content_policy",
             isScheduled = "scheduled", includesBOM = "bom", isSpreadsheetSafe = "spreadsheet_safe"
    }

    /// Tolerant of values written by hand or by older versions (job rows): what is missing takes
    /// its default.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        from = try container.decodeIfPresent(RangeBound.self, forKey: .from)
        to = try container.decodeIfPresent(RangeBound.self, forKey: .to)
        rangeStart = try container.decodeIfPresent(String.self, forKey: .rangeStart)
        rangeEnd = try container.decodeIfPresent(String.self, forKey: .rangeEnd)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        channelIDs = try container.decodeIfPresent([String].self, forKey: .channelIDs) ?? []
        asOf = try container.decodeIfPresent(Instant.self, forKey: .asOf)
        headerLocale = try container.decodeIfPresent(HeaderLocale.self, forKey: .headerLocale) ?? .en
        contentPolicy = try container.decodeIfPresent(ContentPolicy.self, forKey: .contentPolicy) ?? .twitter
        isScheduled = try container.decodeIfPresent(Bool.self, forKey: .isScheduled) ?? false
        includesBOM = try container.decodeIfPresent(Bool.self, forKey: .includesBOM) ?? false
        isSpreadsheetSafe = try container.decodeIfPresent(Bool.self, forKey: .isSpreadsheetSafe) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(from, forKey: .from)
        try container.encodeIfPresent(to, forKey: .to)
        try container.encodeIfPresent(rangeStart, forKey: .rangeStart)
        try container.encodeIfPresent(rangeEnd, forKey: .rangeEnd)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(channelIDs, forKey: .channelIDs)
        try container.encodeIfPresent(asOf, forKey: .asOf)
        try container.encode(headerLocale, forKey: .headerLocale)
        try container.encode(contentPolicy, forKey: .contentPolicy)
        try container.encode(isScheduled, forKey: .isScheduled)
        try container.encode(includesBOM, forKey: .includesBOM)
        try container.encode(isSpreadsheetSafe, forKey: .isSpreadsheetSafe)
    }
}

/// The limits a resolution checks against; nil is no limit (psql users' `set_parameters`).
public struct ExportLimits: Sendable, Equatable {
    /// The longest range, in calendar months of the zone.
    public var maximumSpanMonths: Int?
    /// A range starting more than this many months before the as-of moment is refused.
    public var retentionMonths: Int?

    public init(maximumSpanMonths: Int? = 18, retentionMonths: Int? = 18) {
        self.maximumSpanMonths = maximumSpanMonths
        self.retentionMonths = retentionMonths
    }

    /// The defaults of the command line: 18 months each.
    public static let standard = ExportLimits()
    /// No span or retention limit.
    public static let none = ExportLimits(maximumSpanMonths: nil, retentionMonths: nil)
}

extension ExportParameters {
    /// Checks and normalises the parameters with the database's one resolver
    /// (`export.resolve_parameters`, the same code psql users reach through `set_parameters`):
    /// the zone matched case-insensitively to its canonical name, channel ids deduplicated and
    /// checked, the range resolved to instants within the limits, as-of set. This is the one
    /// boundary where the resolver's SQLSTATE (22023) becomes `WarehouseError.invalidParameter`
    /// with the resolver's own one-line message.
    public func resolved(on connection: Connection, isRangeRequired: Bool, limits: ExportLimits) throws -> ExportParameters {
        let result: QueryResult
        do {
            result = try connection.execute("""
                select to_char(r.resolved_range_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                       to_char(r.resolved_range_end at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                       r.resolved_time_zone,
                       array_to_json(r.resolved_channel_ids)::text,
                       to_char(r.resolved_as_of at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00',
                       r.resolved_content_policy
                from export.resolve_parameters(
                    range_from => $1, range_to => $2, time_zone => $3, channel_ids => $4, as_of => $5,
                    content_policy => $6, is_range_required => $7, is_open_bound_allowed => false,
                    maximum_span_months => $8::integer, retention_months => $9::integer) as r
                """, binds: [from?.description, to?.description, timeZone, channelIDs, asOf, contentPolicy.rawValue,
                             isRangeRequired, limits.maximumSpanMonths, limits.retentionMonths])
        } catch let error as PostgresError where error.sqlState == .invalidParameterValue {
            throw WarehouseError.invalidParameter(error.message)
        }
        var resolved = self
        resolved.rangeStart = result.value(0, 0)
        resolved.rangeEnd = result.value(0, 1)
        resolved.timeZone = result.value(0, 2) ?? timeZone
        resolved.channelIDs = try JSONDecoder().decode([String].self, from: Data((result.value(0, 3) ?? "[]").utf8))
        resolved.asOf = result.value(0, 4).flatMap(Instant.init)
        resolved.contentPolicy = result.value(0, 5).flatMap(ContentPolicy.init(rawValue:)) ?? contentPolicy
        return resolved
    }
}

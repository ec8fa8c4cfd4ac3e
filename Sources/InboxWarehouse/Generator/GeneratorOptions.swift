import Foundation

/// What the sample-data generator produces (docs/generator.md).
public struct GeneratorOptions: Sendable, Equatable {
    /// Conversations to generate (exactly this many `conversation` records, before re-delivery).
    public var conversations: Int
    /// Days of traffic, from `start`.
    public var days: Int
    /// The first day; floored to 00:00 UTC. Every generated timestamp lies in
    /// [start, start + days) except dimension records (channels, agents, teams, contacts, ...),
    /// which are dated before it.
    public var start: Date
    /// Seed of the generator's own PRNG: the same options give the same bytes.
    public var seed: UInt64
    /// Re-delivery: about this fraction of extra lines, re-emitting earlier records later (exact
    /// duplicates, out of order) and, as often, superseded versions of records (an older
    /// `updated_at`, before or after the current one). 0 emits every key exactly once. Whatever
    /// the fraction, loading the output gives the same warehouse state as with 0.
    public var redeliveryFraction: Double

    public init(conversations: Int = 1000, days: Int = 30, start: Date = GeneratorOptions.defaultStart,
                seed: UInt64 = 42, redeliveryFraction: Double = 0) {
        self.conversations = conversations
        self.days = days
        self.start = start
        self.seed = seed
        self.redeliveryFraction = redeliveryFraction
    }

    /// 2026-03-01T00:00:00Z.
    public static let defaultStart = Date(timeIntervalSince1970: 1_772_323_200)

    /// The largest `days` accepted (ten years).
    public static let maximumDays = 3660

    /// Parses a start day `YYYY-MM-DD` (UTC), or an RFC 3339 timestamp (floored to its UTC day).
    public static func startDate(parsing text: String) -> Date? {
        let bytes = Array(text.utf8)
        if bytes.count == 10 {
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let byte = bytes[index]
                    guard byte >= 0x30 && byte <= 0x39 else { return nil }
                    value = value * 10 + Int(byte - 0x30)
                }
                return value
            }
            guard let year = number(0..<4), bytes[4] == UInt8(ascii: "-"), let month = number(5..<7),
                  bytes[7] == UInt8(ascii: "-"), let day = number(8..<10),
                  year >= 1971, year <= 9000, (1...12).contains(month), day >= 1,
                  day <= CivilCalendar.daysInMonth(year: year, month: month) else { return nil }
            return Date(timeIntervalSince1970: Double(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)) * 86_400)
        }
        guard let instant = Instant(text) else { return nil }
        let seconds = instant.microseconds / 1_000_000
        guard seconds > 0 else { return nil }
        return Date(timeIntervalSince1970: Double(seconds - seconds % 86_400))
    }

    /// Throws `WarehouseError.invalidParameter` for an option out of range.
    public func validate() throws {
        if conversations < 0 { throw WarehouseError.invalidParameter("conversations must be 0 or more") }
        if conversations > 500_000_000 { throw WarehouseError.invalidParameter("conversations must be at most 500000000") }
        if days < 1 || days > Self.maximumDays {
            throw WarehouseError.invalidParameter("days must be from 1 to \(Self.maximumDays)")
        }
        if !(redeliveryFraction >= 0 && redeliveryFraction <= 1) {
            throw WarehouseError.invalidParameter("the re-delivery fraction must be from 0 to 1")
        }
        let startSeconds = start.timeIntervalSince1970
        if !(startSeconds >= 86_400 * 365 && startSeconds < 220_000_000_000) {
            throw WarehouseError.invalidParameter("the start date must be after 1971 and before 9000")
        }
    }
}

/// What one run of the generator wrote.
public struct GeneratorStats: Sendable, Equatable {
    /// Lines written (every record, re-deliveries included).
    public var lines: Int = 0
    /// Bytes written.
    public var bytes: Int = 0
    /// Lines per record kind (`message`, `lock`, ...), re-deliveries included.
    public var linesByKind: [String: Int] = [:]
    /// Distinct records (keys): the lines a run with no re-delivery writes.
    public var records: Int = 0
    /// Lines that repeat an earlier line exactly (re-delivery).
    public var duplicates: Int = 0
    /// Lines carrying a superseded version of a record (older `updated_at`).
    public var supersededVersions: Int = 0
    public var conversations: Int = 0
    public var contacts: Int = 0
    public var humanAgents: Int = 0
    public var virtualAgents: Int = 0
    public var teams: Int = 0
    public var channels: Int = 0
    /// The generated span: [start, end).
    public var start: Date = .distantPast
    public var end: Date = .distantPast

    public init() {}
}

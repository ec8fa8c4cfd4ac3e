import PostgresLibPQ

/// A moment in time, to the microsecond, years 0001 to 9999 in UTC: what the loader stores for
/// every timestamp field, and what the export path's as-of moments, range instants and `--now`
/// options hold. It is written as a PostgreSQL literal in UTC (`2026-03-01 09:15:00+00`,
/// microseconds when there are any), which is also its JSON form.
///
/// One parser reads both spellings (`Spelling`): the event log's strict RFC 3339 and the
/// command line's more forgiving one. The offset is always required, so the session's time
/// zone never decides what an instant means, and the microseconds are computed here, so the
/// server's DateStyle or TimeZone never changes what is stored.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public let microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.microseconds < rhs.microseconds }

    static let minimum = Int64(CivilCalendar.daysSinceEpoch(year: 1, month: 1, day: 1)) * 86_400_000_000
    static let maximum = Int64(CivilCalendar.daysSinceEpoch(year: 10000, month: 1, day: 1)) * 86_400_000_000

    /// What a parser accepts. Both: `YYYY-MM-DD`, `T` or `t`, `HH:MM:SS`, an optional fraction
    /// kept to the microsecond (rounded half up: `59.9999995` is the next second), and a required
    /// offset `Z`, `z` or `±HH:MM`, within years 0001 to 9999 in UTC.
    enum Spelling {
        /// input-format.md's "Common rules", for the event log: nothing more (a space instead of
        /// the `T`, a leap second `:60` and offsets without their colon are rejected).
        case inputFormat
        /// For the command line and PostgreSQL's own output (`2026-03-01 09:15:00+00`): also a
        /// space instead of the `T`, offsets `±HH` and `±HHMM`, and a leap second (`:60`) read
        /// as the next second, as PostgreSQL reads it.
        case lenient
    }

    /// Parses an instant with an offset, leniently (`Spelling.lenient`); nil for anything else
    /// (a bare date, `now`, garbage).
    public init?(_ text: String) {
        guard let instant = Self.parse(text, .lenient) else { return nil }
        self = instant
    }

    static func parse(_ text: String, _ spelling: Spelling) -> Instant? {
        var text = text
        return text.withUTF8 { parse(bytes: $0, spelling) }
    }

    /// The parser (the loader's hot path: no allocation).
    static func parse(bytes: UnsafeBufferPointer<UInt8>, _ spelling: Spelling) -> Instant? {
        let count = bytes.count
        let isLenient = spelling == .lenient
        guard count >= 20 else { return nil }
        func digits(_ start: Int, _ length: Int) -> Int? {
            guard start + length <= count else { return nil }
            var value = 0
            for index in start..<(start + length) {
                let byte = bytes[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), bytes[4] == UInt8(ascii: "-"),
              let month = digits(5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = digits(8, 2) else { return nil }
        let separator = bytes[10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || (isLenient && separator == UInt8(ascii: " "))
        else { return nil }
        guard let hour = digits(11, 2), bytes[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = digits(17, 2) else { return nil }
        guard CivilCalendar.isValidDate(year: year, month: month, day: day),
              hour <= 23, minute <= 59, second <= (isLenient ? 60 : 59) else { return nil }
        var index = 19
        var fractionMicros: Int64 = 0
        if index < count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            var scale: Int64 = 100_000
            var roundUp = false
            while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let digit = Int64(bytes[index] - 0x30)
                if scale > 0 {
                    fractionMicros += digit * scale
                    scale /= 10
                } else if index == start + 6 {
                    roundUp = digit >= 5
                }
                index += 1
            }
            guard index > start else { return nil }
            if roundUp { fractionMicros += 1 }
        }
        guard index < count else { return nil }
        var offsetSeconds = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard let offsetHour = digits(index + 1, 2), offsetHour <= 23 else { return nil }
            index += 3
            var offsetMinute = 0
            if index < count || !isLenient {
                // `:MM`, or in the lenient spelling also `MM`; nothing at all only when lenient.
                if index < count, bytes[index] == UInt8(ascii: ":") {
                    index += 1
                } else if !isLenient {
                    return nil
                }
                guard let minutes = digits(index, 2), minutes <= 59 else { return nil }
                offsetMinute = minutes
                index += 2
            }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        default:
            return nil
        }
        guard index == count else { return nil }
        let days = Int64(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        let micros = seconds * 1_000_000 + fractionMicros
        // Keep to what PostgreSQL stores without era notation: years 0001 to 9999 in UTC.
        guard micros >= minimum, micros < maximum else { return nil }
        return Instant(microseconds: micros)
    }

    /// The UTC civil date and time, and the microseconds.
    private var parts: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, micros: Int) {
        var days = microseconds / 86_400_000_000
        var rest = microseconds % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        let date = CivilCalendar.date(daysSinceEpoch: Int(days))
        let seconds = Int(rest / 1_000_000)
        return (date.year, date.month, date.day, seconds / 3600, seconds / 60 % 60, seconds % 60, Int(rest % 1_000_000))
    }

    /// Appends `YYYY-MM-DD{separator}HH:MM:SS[.ffffff]{zone}` to a byte buffer (the loader's hot
    /// path: no intermediate allocation).
    private func append(separator: UInt8, zone: StaticString, to output: inout [UInt8]) {
        let p = parts
        func append(_ value: Int, width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var remaining = value
            while divisor > 0 {
                output.append(UInt8(0x30 + remaining / divisor % 10))
                remaining %= divisor
                divisor /= 10
            }
        }
        append(p.year, width: 4); output.append(UInt8(ascii: "-"))
        append(p.month, width: 2); output.append(UInt8(ascii: "-"))
        append(p.day, width: 2); output.append(separator)
        append(p.hour, width: 2); output.append(UInt8(ascii: ":"))
        append(p.minute, width: 2); output.append(UInt8(ascii: ":"))
        append(p.second, width: 2)
        if p.micros != 0 {
            output.append(UInt8(ascii: "."))
            append(p.micros, width: 6)
        }
        zone.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    /// Appends the PostgreSQL literal (`postgresLiteral`) to a byte buffer.
    func appendPostgresLiteral(to output: inout [UInt8]) {
        append(separator: UInt8(ascii: " "), zone: "+00", to: &output)
    }

    /// `2026-03-01 09:15:00+00`: the literal handed to PostgreSQL, and the form in manifests.
    public var postgresLiteral: String {
        var output: [UInt8] = []
        appendPostgresLiteral(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// `2026-03-01T09:15:00Z`.
    public var rfc3339: String {
        var output: [UInt8] = []
        append(separator: UInt8(ascii: "T"), zone: "Z", to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    public var description: String { postgresLiteral }
}

extension Instant: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let instant = Instant(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an instant with an offset: \(messageText(text))")
        }
        self = instant
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(postgresLiteral)
    }
}

extension Instant: PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(text: postgresLiteral, type: .timestamptz) }
    public static var postgresNullType: PostgresDataType { .timestamptz }
}

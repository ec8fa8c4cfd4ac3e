import PostgresLibPQ

/// A moment in time, to the microsecond, years 0001 to 9999 in UTC: what the export path's
/// as-of moments, range instants and `--now` options hold.
///
/// It reads RFC 3339 (`2026-03-01T09:15:00Z`, `2026-03-01t10:15:00.25+01:00`, a space instead of
/// the `T`) and PostgreSQL's own output (`2026-03-01 09:15:00+00`, offsets `±HH`, `±HHMM`,
/// `±HH:MM`); the offset is always required, so the session's time zone never decides what an
/// instant means. Fractions beyond microseconds are rounded; a leap second (`:60`) is the next
/// second, as PostgreSQL reads it. It is written as a PostgreSQL literal in UTC
/// (`2026-03-01 09:15:00+00`, microseconds when there are any), which is also its JSON form.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public let microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.microseconds < rhs.microseconds }

    static let minimum = Int64(CivilCalendar.daysSinceEpoch(year: 1, month: 1, day: 1)) * 86_400_000_000
    static let maximum = Int64(CivilCalendar.daysSinceEpoch(year: 10000, month: 1, day: 1)) * 86_400_000_000

    /// Parses an instant with an offset; nil for anything else (a bare date, `now`, garbage).
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ length: Int) -> Int? {
            guard index + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + length)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += length
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
              CivilCalendar.isValidDate(year: year, month: month, day: day), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var fraction: Int64 = 0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            var scale: Int64 = 100_000
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                let digit = Int64(bytes[index] - 0x30)
                if scale > 0 {
                    fraction += digit * scale
                    scale /= 10
                } else if index == start + 6 && digit >= 5 {
                    fraction += 1  // rounded to the microsecond
                }
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetSeconds = 0
        if expect("Zz") {
            // UTC
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2), offsetHours <= 23 else { return nil }
            var offsetMinutes = 0
            if index < bytes.count {
                _ = expect(":")
                guard let minutes = number(2), minutes <= 59 else { return nil }
                offsetMinutes = minutes
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Int64(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        let micros = seconds * 1_000_000 + fraction
        guard micros >= Self.minimum, micros < Self.maximum else { return nil }
        microseconds = micros
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

    private func formatted(separator: String, zone: String) -> String {
        let p = parts
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(padded(p.year, 4))-\(padded(p.month, 2))-\(padded(p.day, 2))\(separator)"
            + "\(padded(p.hour, 2)):\(padded(p.minute, 2)):\(padded(p.second, 2))"
        if p.micros != 0 { text += "." + padded(p.micros, 6) }
        return text + zone
    }

    /// `2026-03-01 09:15:00+00`: the literal handed to PostgreSQL, and the form in manifests.
    public var postgresLiteral: String { formatted(separator: " ", zone: "+00") }

    /// `2026-03-01T09:15:00Z`.
    public var rfc3339: String { formatted(separator: "T", zone: "Z") }

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

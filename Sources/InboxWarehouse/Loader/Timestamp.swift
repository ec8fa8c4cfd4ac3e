/// RFC 3339 timestamps: `2026-03-01T09:15:00Z`, `2026-03-01T10:15:00.250+01:00`.
///
/// The loader converts each to UTC microseconds itself and hands PostgreSQL a canonical UTC
/// literal, so the server's DateStyle or TimeZone never changes what is stored, and values
/// PostgreSQL would read differently (offsets beyond ±15:59, for instance) are handled here.
struct UTCInstant: Comparable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    let microseconds: Int64

    static func < (lhs: UTCInstant, rhs: UTCInstant) -> Bool { lhs.microseconds < rhs.microseconds }

    /// Parses an RFC 3339 date-time (input-format.md, "Common rules"): ASCII digits, `T` or `t`
    /// between date and time (a space is rejected), seconds `00` to `59` (a leap second `:60` is
    /// rejected), a required offset (`Z`, `z` or `±HH:MM`); fractional seconds are kept to the
    /// microsecond, rounded half up (`59.9999995` becomes the next second).
    static func parse(_ text: String) -> UTCInstant? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> UTCInstant? {
        let count = bytes.count
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
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") else { return nil }
        guard let hour = digits(11, 2), bytes[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = digits(17, 2) else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= CivilCalendar.daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
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
            guard let offsetHour = digits(index + 1, 2), index + 3 < count, bytes[index + 3] == UInt8(ascii: ":"),
                  let offsetMinute = digits(index + 4, 2), offsetHour <= 23, offsetMinute <= 59 else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
            index += 6
        default:
            return nil
        }
        guard index == count else { return nil }
        let days = Int64(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        let micros = seconds * 1_000_000 + fractionMicros
        // Keep to what PostgreSQL stores without era notation: years 0001 to 9999 in UTC.
        guard micros >= minimumMicros, micros < maximumMicros else { return nil }
        return UTCInstant(microseconds: micros)
    }

    static let minimumMicros = Int64(CivilCalendar.daysSinceEpoch(year: 1, month: 1, day: 1)) * 86_400_000_000
    static let maximumMicros = Int64(CivilCalendar.daysSinceEpoch(year: 10000, month: 1, day: 1)) * 86_400_000_000

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, the literal handed to PostgreSQL.
    var postgresLiteral: String {
        var output: [UInt8] = []
        appendPostgresLiteral(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the literal to a byte buffer (the loader's hot path: no intermediate allocation).
    func appendPostgresLiteral(to output: inout [UInt8]) {
        var days = microseconds / 86_400_000_000
        var rest = microseconds % 86_400_000_000
        if rest < 0 { rest += 86_400_000_000; days -= 1 }
        let (year, month, day) = CivilCalendar.date(daysSinceEpoch: Int(days))
        let seconds = Int(rest / 1_000_000)
        let micros = Int(rest % 1_000_000)
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
        append(year, width: 4); output.append(UInt8(ascii: "-"))
        append(month, width: 2); output.append(UInt8(ascii: "-"))
        append(day, width: 2); output.append(UInt8(ascii: " "))
        append(seconds / 3600, width: 2); output.append(UInt8(ascii: ":"))
        append(seconds / 60 % 60, width: 2); output.append(UInt8(ascii: ":"))
        append(seconds % 60, width: 2)
        if micros != 0 {
            output.append(UInt8(ascii: "."))
            append(micros, width: 6)
        }
        output.append(UInt8(ascii: "+")); output.append(UInt8(ascii: "0")); output.append(UInt8(ascii: "0"))
    }
}

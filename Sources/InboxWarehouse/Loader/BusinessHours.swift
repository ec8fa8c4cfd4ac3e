import Foundation
import PostgresLibPQ

/// The fields of a `business_hours` record that are more than a scalar
/// (../shared/spec/business-hours.md, "Input"): the time zone, the weekly shifts and the closed
/// dates. Each is validated with every reject rule of the spec and rendered as its COPY text.

/// The IANA time zone names a record may use: the server's (`pg_timezone_names`, which reads the
/// tz database the calendar is computed with), less its `posix/` copies and `posixrules`, which
/// are not IANA names. A name matches ignoring ASCII case only (`europe/paris` is `Europe/Paris`;
/// no Unicode case folding, under which a KELVIN SIGN would pass for a `k`), and is stored in the
/// server's spelling.
struct TimeZoneNames: Sendable {
    private let canonicalByFolded: [[UInt8]: String]

    init(_ names: some Sequence<String>) {
        var table: [[UInt8]: String] = [:]
        for name in names {
            let key = Self.folded(name)
            // Should two names differ only in case, the first in code-point order wins.
            if let existing = table[key], Array(existing.utf8).lexicographicallyPrecedes(Array(name.utf8)) { continue }
            table[key] = name
        }
        canonicalByFolded = table
    }

    /// The stored spelling of `name`, or nil when it names no known zone.
    func canonical(_ name: String) -> String? {
        canonicalByFolded[Self.folded(name)]
    }

    /// `name`'s UTF-8 bytes with A-Z lowered (bytes, not String: String equality and hashing
    /// apply Unicode canonical equivalence).
    static func folded(_ name: String) -> [UInt8] {
        name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    }

    /// The zones Foundation knows, for validating without a server (the generator's tests). The
    /// loader always uses the server's list.
    static let foundation = TimeZoneNames(TimeZone.knownTimeZoneIdentifiers + ["UTC"])

    nonisolated(unsafe) private static var serverCache: [String: TimeZoneNames] = [:]
    private static let cacheLock = NSLock()

    /// The server's list, read once per server per process (reading it takes about 60 ms).
    static func server(_ connection: Connection) throws -> TimeZoneNames {
        let identity = try connection.execute("""
            select concat_ws(' ', current_setting('server_version_num'), inet_server_addr(), inet_server_port(),
                             current_setting('data_directory', true))
            """).scalar ?? ""
        if let cached = cacheLock.withLock({ serverCache[identity] }) { return cached }
        let result = try connection.execute("""
            select name from pg_timezone_names where name not like 'posix/%' and name <> 'posixrules'
            """)
        let names = TimeZoneNames((0..<result.rowCount).compactMap { result.value($0, 0) })
        cacheLock.withLock { serverCache[identity] = names }
        return names
    }
}

enum BusinessHoursFields {
    static let kind = "business_hours"
    static let days = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]

    private static func reject(_ reason: String) -> RejectReason {
        RejectReason(kind: kind, reason: reason)
    }

    /// A local wall time `HH:MM` (two ASCII digits each, minutes 00-59) as minutes after 00:00;
    /// nil when the text is not of that form. Values past 24:00 are returned (and rejected by the
    /// caller with their own reason).
    static func minutes(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count == 5, bytes[2] == UInt8(ascii: ":") else { return nil }
        var digits: [Int] = []
        for index in [0, 1, 3, 4] {
            guard bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
            digits.append(Int(bytes[index] - 0x30))
        }
        let hour = digits[0] * 10 + digits[1]
        let minute = digits[2] * 10 + digits[3]
        guard minute <= 59 else { return nil }
        return hour * 60 + minute
    }

    /// A local date `YYYY-MM-DD` (ASCII digits, a real Gregorian date, year 0001 or later) as
    /// (year, month, day); nil otherwise.
    static func localDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              year >= 1, (1...12).contains(month), day >= 1 else { return nil }
        let isLeap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        return (year, month, day)
    }

    private static func wallTime(_ minutes: Int) -> String {
        let hour = minutes / 60, minute = minutes % 60
        return (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    /// Validates `weekly` (the raw text of a JSON value) and appends its stored form: a jsonb
    /// array of the shifts ordered by day then start, other members of a shift dropped.
    static func appendShifts(_ raw: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) throws(RejectReason) {
        guard case .array(let elements)? = JSONTree.parse(raw) else {
            throw reject("field \"weekly\" must be an array of shifts")
        }
        var shifts: [(day: Int, start: Int, end: Int, position: Int)] = []
        for (index, element) in elements.enumerated() {
            let position = index + 1
            guard case .object(let members) = element else {
                throw reject("field \"weekly\": shift \(position) is not an object")
            }
            // Later duplicates of a member win, as for the record's own members.
            func member(_ name: String) -> JSONTree? {
                members.last(where: { RecordValidator.isSameText($0.key, name) })?.value
            }
            guard case .string(let dayName)? = member("day"),
                  let day = days.firstIndex(where: { RecordValidator.isSameText($0, dayName) }) else {
                throw reject("field \"weekly\": shift \(position) has no day MON, TUE, WED, THU, FRI, SAT or SUN")
            }
            var bounds: [Int] = []
            for name in ["start", "end"] {
                guard case .string(let text)? = member(name), let value = minutes(text) else {
                    throw reject("field \"weekly\": shift \(position)'s \(name) is not a time HH:MM")
                }
                guard value <= 24 * 60 else {
                    throw reject("field \"weekly\": shift \(position)'s \(name) \(text) is after 24:00")
                }
                bounds.append(value)
            }
            guard bounds[0] < bounds[1] else {
                throw reject("field \"weekly\": shift \(position) starts at or after its end (\(wallTime(bounds[0]))-\(wallTime(bounds[1])))")
            }
            shifts.append((day, bounds[0], bounds[1], position))
        }
        shifts.sort { ($0.day, $0.start, $0.position) < ($1.day, $1.start, $1.position) }
        for (earlier, later) in zip(shifts, shifts.dropFirst()) where earlier.day == later.day && later.start < earlier.end {
            let (first, second) = earlier.position < later.position ? (earlier, later) : (later, earlier)
            throw reject("field \"weekly\": shifts \(first.position) and \(second.position) overlap on \(days[earlier.day]) "
                         + "(\(wallTime(first.start))-\(wallTime(first.end)), \(wallTime(second.start))-\(wallTime(second.end)))")
        }
        var text = "["
        for (index, shift) in shifts.enumerated() {
            if index > 0 { text += ", " }
            text += "{\"day\": \"\(days[shift.day])\", \"start\": \"\(wallTime(shift.start))\", \"end\": \"\(wallTime(shift.end))\"}"
        }
        text += "]"
        output.append(contentsOf: Array(text.utf8))
    }

    /// Validates `closed_dates` (the raw text of a JSON value) and appends its stored form: a
    /// PostgreSQL date array, sorted, without duplicates.
    static func appendLocalDates(_ raw: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) throws(RejectReason) {
        guard case .array(let elements)? = JSONTree.parse(raw) else {
            throw reject("field \"closed_dates\" must be an array of dates YYYY-MM-DD")
        }
        var dates: [String] = []
        for element in elements {
            guard case .string(let text) = element, localDate(text) != nil else {
                throw reject("field \"closed_dates\" holds something that is not a date YYYY-MM-DD")
            }
            dates.append(text)
        }
        // Validated dates are ASCII of one length: byte order is date order.
        let sorted = Array(Set(dates)).sorted()
        output.append(contentsOf: Array(("{" + sorted.joined(separator: ",") + "}").utf8))
    }

    /// `closed_dates` absent or null: no closed dates.
    static func appendNoDates(to output: inout [UInt8]) {
        output.append(contentsOf: Array("{}".utf8))
    }
}

/// A JSON value decoded in full, for the few fields whose value is an array or object. Reads
/// text the line reader has already validated (RFC 8259), so it does not report syntax errors:
/// it returns nil on anything unexpected.
indirect enum JSONTree: Equatable {
    case object([Member])
    case array([JSONTree])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    struct Member: Equatable {
        let key: String
        let value: JSONTree
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONTree? {
        var parser = Parser(bytes: bytes)
        guard let value = parser.value() else { return nil }
        parser.skipWhitespace()
        return parser.position == bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        private mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func value() -> JSONTree? {
            skipWhitespace()
            guard position < bytes.count else { return nil }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var members: [Member] = []
                if consume(UInt8(ascii: "}")) { return .object(members) }
                repeat {
                    skipWhitespace()
                    guard let key = string(), consume(UInt8(ascii: ":")), let element = value() else { return nil }
                    members.append(Member(key: key, value: element))
                } while consume(UInt8(ascii: ","))
                return consume(UInt8(ascii: "}")) ? .object(members) : nil
            case UInt8(ascii: "["):
                position += 1
                var elements: [JSONTree] = []
                if consume(UInt8(ascii: "]")) { return .array(elements) }
                repeat {
                    guard let element = value() else { return nil }
                    elements.append(element)
                } while consume(UInt8(ascii: ","))
                return consume(UInt8(ascii: "]")) ? .array(elements) : nil
            case UInt8(ascii: "\""):
                return string().map { .string($0) }
            case UInt8(ascii: "t"):
                position += 4
                return .bool(true)
            case UInt8(ascii: "f"):
                position += 5
                return .bool(false)
            case UInt8(ascii: "n"):
                position += 4
                return .null
            default:
                let start = position
                while position < bytes.count, !",]} \t\r\n".utf8.contains(bytes[position]) { position += 1 }
                return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
            }
        }

        /// A string token at `position`, decoded.
        mutating func string() -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            position += 1
            var decoded: [UInt8] = []
            func hex(_ at: Int) -> UInt32? {
                guard at + 4 <= bytes.count else { return nil }
                var value: UInt32 = 0
                for index in at..<(at + 4) {
                    let byte = bytes[index]
                    switch byte {
                    case 0x30...0x39: value = value * 16 + UInt32(byte - 0x30)
                    case 0x41...0x46: value = value * 16 + UInt32(byte - 0x41 + 10)
                    case 0x61...0x66: value = value * 16 + UInt32(byte - 0x61 + 10)
                    default: return nil
                    }
                }
                return value
            }
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return String(decoding: decoded, as: UTF8.self)
                }
                guard byte == UInt8(ascii: "\\") else {
                    decoded.append(byte)
                    position += 1
                    continue
                }
                guard position + 1 < bytes.count else { return nil }
                let escape = bytes[position + 1]
                position += 2
                switch escape {
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex(position) else { return nil }
                    position += 4
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard position + 6 <= bytes.count, let low = hex(position + 2) else { return nil }
                        position += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    decoded.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    decoded.append(escape)  // " \ /
                }
            }
            return nil
        }
    }
}

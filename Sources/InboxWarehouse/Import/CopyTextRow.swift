/// Decodes one data row of `COPY ... TO STDOUT` in the text format: tab-separated fields, `\N` for
/// NULL, backslash escapes. libpq hands out one row per chunk (with its final newline).
enum CopyTextRow {
    static func decode(_ chunk: UnsafeRawBufferPointer) -> [String?] {
        var fields: [String?] = []
        var current: [UInt8] = []
        var isNull = false
        var index = 0
        let count = chunk.count
        func finish() {
            fields.append(isNull ? nil : String(decoding: current, as: UTF8.self))
            current.removeAll(keepingCapacity: true)
            isNull = false
        }
        while index < count {
            let byte = chunk[index]
            switch byte {
            case 0x09:
                finish()
            case 0x0A:
                index = count
                continue
            case UInt8(ascii: "\\") where index + 1 < count:
                index += 1
                let next = chunk[index]
                switch next {
                case UInt8(ascii: "N") where current.isEmpty: isNull = true
                case UInt8(ascii: "b"): current.append(0x08)
                case UInt8(ascii: "f"): current.append(0x0C)
                case UInt8(ascii: "n"): current.append(0x0A)
                case UInt8(ascii: "r"): current.append(0x0D)
                case UInt8(ascii: "t"): current.append(0x09)
                case UInt8(ascii: "v"): current.append(0x0B)
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    // \NNN: up to three octal digits.
                    var value = Int(next - UInt8(ascii: "0"))
                    var digits = 1
                    while digits < 3, index + 1 < count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(chunk[index + 1]) {
                        index += 1
                        value = value * 8 + Int(chunk[index] - UInt8(ascii: "0"))
                        digits += 1
                    }
                    current.append(UInt8(truncatingIfNeeded: value))
                case UInt8(ascii: "x"):
                    // \xHH: one or two hexadecimal digits.
                    var value = 0
                    var digits = 0
                    while digits < 2, index + 1 < count, let digit = hexValue(chunk[index + 1]) {
                        index += 1
                        value = value * 16 + digit
                        digits += 1
                    }
                    if digits == 0 { current.append(next) } else { current.append(UInt8(value)) }
                default:
                    current.append(next)
                }
            default:
                current.append(byte)
            }
            index += 1
        }
        finish()
        return fields
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}

/// One NDJSON record, built field by field: `{"type":"…","key":value,…}`. Absent (nil) values are
/// left out, as the contract reads an absent optional field and `null` the same way.
struct NDJSONRecord {
    private(set) var bytes: [UInt8] = []

    init(_ type: String) {
        bytes.append(contentsOf: Array("{\"type\":".utf8))
        appendJSONString(type, to: &bytes)
    }

    mutating func set(_ key: String, _ value: String?) {
        guard let value else { return }
        appendKey(key)
        appendJSONString(value, to: &bytes)
    }

    mutating func set(_ key: String, integer value: Int64?) {
        guard let value else { return }
        appendKey(key)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    mutating func set(_ key: String, boolean value: Bool?) {
        guard let value else { return }
        appendKey(key)
        bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    /// A field whose value is JSON text already (a jsonb value read from the source).
    mutating func set(_ key: String, json value: String?) {
        guard let value, !value.isEmpty else { return }
        appendKey(key)
        bytes.append(contentsOf: Array(value.utf8))
    }

    /// The finished line, with its newline.
    var line: [UInt8] { bytes + [UInt8(ascii: "}"), 0x0A] }

    private mutating func appendKey(_ key: String) {
        bytes.append(UInt8(ascii: ","))
        appendJSONString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }
}

/// Instants as the source queries write them (`2026-03-02T09:15:00.000000Z`, always UTC and
/// fixed width, so they compare as text), and microseconds since the epoch for differences.
enum SourceInstant {
    /// SQL that renders a `timestamp` column (UTC by Rails' convention) or a `timestamptz` (the
    /// session runs in UTC) in the fixed-width form.
    static func sql(_ expression: String) -> String {
        "to_char(\(expression), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// Microseconds since 1970-01-01 of a fixed-width instant; nil if it is not one.
    static func microseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 27, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[26] == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ length: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[from..<from + length] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), let fraction = number(20, 6) else { return nil }
        // Days from civil (proleptic Gregorian), after Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + fraction
    }

    /// Seconds from `earlier` to `later` (negative if `later` is before); nil if either is unreadable.
    static func seconds(from earlier: String, to later: String) -> Double? {
        guard let start = microseconds(earlier), let end = microseconds(later) else { return nil }
        return Double(end - start) / 1_000_000
    }
}

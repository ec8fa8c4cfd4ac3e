/// Builds one NDJSON record by hand: `{"type":"…","key":value,…}` plus a newline, with JSON string
/// escaping and RFC 3339 UTC timestamps formatted without Foundation.
struct NDJSONLineBuilder {
    private(set) var bytes: [UInt8] = []
    /// The current conversation's zero-padded number, for conversation-scoped ids (`m-000123-4`).
    private var conversationDigits: [UInt8] = []
    private var cachedDay: Int64 = .min
    private var cachedDayPrefix: [UInt8] = []

    init() {
        bytes.reserveCapacity(2048)
    }

    mutating func setConversation(number: Int, width: Int) {
        conversationDigits.removeAll(keepingCapacity: true)
        Self.appendPadded(number, width: width, to: &conversationDigits)
    }

    mutating func begin(_ type: StaticString) {
        bytes.removeAll(keepingCapacity: true)
        appendStatic("{\"type\":\"")
        appendStatic(type)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func end() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(0x0A)
    }

    // MARK: Fields

    mutating func string(_ key: StaticString, _ value: String) {
        appendKey(key)
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(value)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func string(_ key: StaticString, _ value: String?) {
        if let value { string(key, value) }
    }

    mutating func time(_ key: StaticString, _ milliseconds: Int64) {
        appendKey(key)
        bytes.append(UInt8(ascii: "\""))
        appendTimestamp(milliseconds)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func time(_ key: StaticString, _ milliseconds: Int64?) {
        if let milliseconds { time(key, milliseconds) }
    }

    mutating func integer(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        appendKey(key)
        Self.appendDecimal(value, to: &bytes)
    }

    /// A member whose value is JSON text written as is (an array of shifts or dates).
    mutating func json(_ key: StaticString, _ value: String) {
        appendKey(key)
        bytes.append(contentsOf: Array(value.utf8))
    }

    /// The date `YYYY-MM-DD` (UTC) of an instant.
    static func date(_ milliseconds: Int64) -> String {
        var scratch = NDJSONLineBuilder()
        scratch.appendTimestamp(milliseconds)
        return String(decoding: scratch.bytes.prefix(10), as: UTF8.self)
    }

    mutating func boolean(_ key: StaticString, _ value: Bool) {
        appendKey(key)
        appendStatic(value ? "true" : "false")
    }

    /// A conversation-scoped id: `prefix` + the conversation's number + `-` + `sequence`.
    mutating func conversationID(_ key: StaticString, _ prefix: StaticString, _ sequence: Int) {
        appendKey(key)
        bytes.append(UInt8(ascii: "\""))
        appendStatic(prefix)
        bytes.append(contentsOf: conversationDigits)
        bytes.append(UInt8(ascii: "-"))
        Self.appendDecimal(sequence, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The conversation's own id: `prefix` + its number.
    mutating func conversationID(_ key: StaticString, _ prefix: StaticString) {
        appendKey(key)
        bytes.append(UInt8(ascii: "\""))
        appendStatic(prefix)
        bytes.append(contentsOf: conversationDigits)
        bytes.append(UInt8(ascii: "\""))
    }

    // MARK: Bytes

    @inline(__always)
    private mutating func appendStatic(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    private mutating func appendKey(_ key: StaticString) {
        bytes.append(UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        appendStatic(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func appendEscaped(_ value: String) {
        var value = value
        value.withUTF8 { buffer in
            var clean = true
            for byte in buffer where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                clean = false
                break
            }
            if clean {
                bytes.append(contentsOf: buffer)
                return
            }
            for byte in buffer {
                switch byte {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(0x5C)
                    bytes.append(UInt8(ascii: "u"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                default: bytes.append(byte)
                }
            }
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, or `…:SS.mmmZ` when the milliseconds are not zero.
    mutating func appendTimestamp(_ milliseconds: Int64) {
        var day = milliseconds / 86_400_000
        var rest = milliseconds % 86_400_000
        if rest < 0 { rest += 86_400_000; day -= 1 }
        if day != cachedDay {
            cachedDay = day
            cachedDayPrefix.removeAll(keepingCapacity: true)
            let (year, month, dayOfMonth) = CivilCalendar.date(daysSinceEpoch: Int(day))
            Self.appendPadded(year, width: 4, to: &cachedDayPrefix)
            cachedDayPrefix.append(UInt8(ascii: "-"))
            Self.appendPadded(month, width: 2, to: &cachedDayPrefix)
            cachedDayPrefix.append(UInt8(ascii: "-"))
            Self.appendPadded(dayOfMonth, width: 2, to: &cachedDayPrefix)
            cachedDayPrefix.append(UInt8(ascii: "T"))
        }
        bytes.append(contentsOf: cachedDayPrefix)
        let seconds = Int(rest / 1000)
        let millis = Int(rest % 1000)
        appendTwo(seconds / 3600)
        bytes.append(UInt8(ascii: ":"))
        appendTwo(seconds / 60 % 60)
        bytes.append(UInt8(ascii: ":"))
        appendTwo(seconds % 60)
        if millis != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(0x30 + millis / 100))
            bytes.append(UInt8(0x30 + millis / 10 % 10))
            bytes.append(UInt8(0x30 + millis % 10))
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    @inline(__always)
    private mutating func appendTwo(_ value: Int) {
        bytes.append(UInt8(0x30 + value / 10))
        bytes.append(UInt8(0x30 + value % 10))
    }

    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        if value < 0 {
            output.append(UInt8(ascii: "-"))
            appendDecimal(-value, to: &output)
            return
        }
        if value < 10 {
            output.append(UInt8(0x30 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var remaining = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while remaining > 0 {
                buffer[count] = UInt8(0x30 + remaining % 10)
                remaining /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(buffer[index]) }
        }
    }

    static func appendPadded(_ value: Int, width: Int, to output: inout [UInt8]) {
        var digitCount = 1
        var probe = value
        while probe >= 10 { probe /= 10; digitCount += 1 }
        if digitCount < width {
            for _ in 0..<(width - digitCount) { output.append(UInt8(ascii: "0")) }
        }
        appendDecimal(value, to: &output)
    }

    /// `value` zero-padded to `width` digits, as a String.
    static func padded(_ value: Int, width: Int) -> String {
        var output: [UInt8] = []
        appendPadded(value, width: width, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// The number of decimal digits of `value` (at least `minimum`).
    static func width(for value: Int, minimum: Int) -> Int {
        var digits = 1
        var probe = value
        while probe >= 10 { probe /= 10; digits += 1 }
        return max(minimum, digits)
    }
}

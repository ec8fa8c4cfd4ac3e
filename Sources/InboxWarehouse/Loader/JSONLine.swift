/// A strict, allocation-light JSON reader for one NDJSON line whose top level is an object.
///
/// The event log's records are flat objects; nested values (arrays, objects) are allowed only in
/// fields the contract does not know, which are kept verbatim. The reader validates the whole
/// line against RFC 8259 (including nested values and string escapes) and returns the top-level
/// members with their decoded scalar values and the byte ranges of their raw text.

/// A top-level member's value.
enum JSONValue: Equatable {
    case string(String)
    case number(JSONNumber)
    case bool(Bool)
    case null
    /// An object or array (only kept verbatim).
    case composite

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .composite: return "an object or array"
        }
    }
}

/// A JSON number, kept as its text so that its exact decimal value decides what it is: a
/// binary floating-point reading would turn `4.9999999999999999999` into 5 (input-format.md,
/// "Common rules": an integer field takes a number whose exact value is an integer, never a
/// rounded one).
struct JSONNumber: Equatable {
    /// The number as written (already checked against the JSON grammar).
    let text: String

    /// The number's value when its exact decimal value is an integer inside `range` (`5`, `5.0`,
    /// `5e0`, `50e-1`, `0.5e1` are all 5); nil when it has a fractional part, however small
    /// (`4.5`, `4.9999999999999999999`, `1e-300`), or lies outside `range`.
    func integer(in range: ClosedRange<Int64>) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        let isNegative = bytes.first == UInt8(ascii: "-")
        if isNegative { index += 1 }
        // value = digits x 10^exponent, digits being every mantissa digit in order
        var digits: [UInt8] = []
        var exponent = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            digits.append(bytes[index] - 0x30)
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                digits.append(bytes[index] - 0x30)
                exponent -= 1
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var exponentIsNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentIsNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var written = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if written < 1_000_000 { written = written * 10 + Int(bytes[index] - 0x30) }
                index += 1
            }
            exponent += exponentIsNegative ? -written : written
        }
        guard index == bytes.count else { return nil }
        guard let first = digits.firstIndex(where: { $0 != 0 }) else {
            return range.contains(0) ? 0 : nil  // 0, -0, 0.000, 0e7
        }
        var significant = digits[first...]
        while significant.last == 0 {
            significant.removeLast()
            exponent += 1
        }
        // A non-zero digit is left after the decimal point: not an integer.
        guard exponent >= 0 else { return nil }
        // 18 digits always fit in Int64; anything longer is far outside every range we check.
        guard significant.count + exponent <= 18 else { return nil }
        var value: Int64 = 0
        for digit in significant { value = value * 10 + Int64(digit) }
        for _ in 0..<exponent { value *= 10 }
        if isNegative { value = -value }
        return range.contains(value) ? value : nil
    }
}

struct JSONMember {
    let key: String
    let value: JSONValue
    /// Byte range of the key token, quotes included.
    let keyRange: Range<Int>
    /// Byte range of the value's raw text.
    let valueRange: Range<Int>
    /// The value's raw text contains a `\u0000` escape somewhere (PostgreSQL cannot store it).
    let containsNULEscape: Bool
}

struct JSONSyntaxError: Error {
    let message: String
    let offset: Int
}

struct JSONLineReader {
    static let maximumDepth = 256
    static let notAnObject = "the record is not a JSON object"

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var sawNULEscape = false

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses `bytes` (already known to be valid UTF-8) as one JSON object.
    static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> [JSONMember] {
        var reader = JSONLineReader(bytes)
        reader.skipWhitespace()
        guard reader.position < bytes.count else { throw reader.error("empty line") }
        guard bytes[reader.position] == UInt8(ascii: "{") else {
            // Validate anyway, to tell "not JSON" from "JSON but not an object".
            _ = try reader.parseValue(depth: 0, decode: false)
            reader.skipWhitespace()
            if reader.position == bytes.count {
                throw JSONSyntaxError(message: notAnObject, offset: 0)
            }
            throw reader.error("unexpected data after the JSON value")
        }
        reader.position += 1
        var members: [JSONMember] = []
        members.reserveCapacity(16)
        reader.skipWhitespace()
        if reader.peek() == UInt8(ascii: "}") {
            reader.position += 1
        } else {
            while true {
                reader.skipWhitespace()
                guard reader.peek() == UInt8(ascii: "\"") else { throw reader.error("expected a member name") }
                // Reset before the name: a \u0000 in the name must count too (kept in `extra`).
                reader.sawNULEscape = false
                let keyStart = reader.position
                let key = try reader.parseString(decode: true) ?? ""
                let keyEnd = reader.position
                reader.skipWhitespace()
                guard reader.peek() == UInt8(ascii: ":") else { throw reader.error("expected ':' after a member name") }
                reader.position += 1
                reader.skipWhitespace()
                let valueStart = reader.position
                let value = try reader.parseValue(depth: 1, decode: true)
                members.append(JSONMember(key: key, value: value, keyRange: keyStart..<keyEnd,
                                          valueRange: valueStart..<reader.position,
                                          containsNULEscape: reader.sawNULEscape))
                reader.skipWhitespace()
                guard let next = reader.peek() else { throw reader.error("unterminated object") }
                reader.position += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw reader.error("expected ',' or '}' in the object") }
            }
        }
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw reader.error("unexpected data after the JSON object") }
        return members
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: position)
    }

    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int, decode: Bool) throws(JSONSyntaxError) -> JSONValue {
        guard let byte = peek() else { throw error("unexpected end of line, expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            let text = try parseString(decode: decode)
            return .string(text ?? "")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipComposite(depth: depth)
            return .composite
        case UInt8(ascii: "t"):
            try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected character, expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("invalid literal") }
        let pointer = literal.utf8Start
        for index in 0..<count where bytes[position + index] != pointer[index] {
            throw error("invalid literal")
        }
        position += count
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONNumber {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw error("invalid number") }
        if first == 0x30 {
            position += 1
        } else {
            while let digit = peek(), digit >= 0x30, digit <= 0x39 { position += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let digit = peek(), digit >= 0x30, digit <= 0x39 else { throw error("invalid number") }
            while let digit = peek(), digit >= 0x30, digit <= 0x39 { position += 1 }
        }
        var exponent = 0
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            var negative = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") {
                negative = peek() == UInt8(ascii: "-")
                position += 1
            }
            guard let digit = peek(), digit >= 0x30, digit <= 0x39 else { throw error("invalid number") }
            while let digit = peek(), digit >= 0x30, digit <= 0x39 {
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(digit - 0x30) }
                position += 1
            }
            if negative { exponent = -exponent }
        }
        if position - start > 1000 || abs(exponent) > 1000 {
            throw error("number out of range")
        }
        return JSONNumber(text: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    /// Parses a string token; returns its decoded text when `decode` is set.
    private mutating func parseString(decode: Bool) throws(JSONSyntaxError) -> String? {
        position += 1  // opening quote
        let start = position
        var hasEscape = false
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw error("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                hasEscape = true
                position += 1
                guard position < bytes.count else { throw error("unterminated string") }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    let unit = try hexUnit(at: position + 1)
                    position += 5
                    if unit == 0 { sawNULEscape = true }
                    if unit >= 0xD800 && unit <= 0xDBFF {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                        let low = try hexUnit(at: position + 2)
                        guard low >= 0xDC00 && low <= 0xDFFF else { throw error("unpaired surrogate in a \\u escape") }
                        position += 6
                    } else if unit >= 0xDC00 && unit <= 0xDFFF {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                default:
                    throw error("invalid escape in a string")
                }
                continue
            }
            position += 1
        }
        let end = position
        position += 1  // closing quote
        guard decode else { return nil }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if !hasEscape { return String(decoding: raw, as: UTF8.self) }
        return decodeEscapes(raw)
    }

    private func hexUnit(at offset: Int) throws(JSONSyntaxError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw JSONSyntaxError(message: "truncated \\u escape", offset: offset) }
        var value: UInt32 = 0
        for index in offset..<(offset + 4) {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw JSONSyntaxError(message: "invalid \\u escape", offset: index)
            }
            value = value * 16 + digit
        }
        return value
    }

    /// Decodes a validated string body with escapes.
    private func decodeEscapes(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var index = 0
        func hex(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for offset in at..<(at + 4) {
                let byte = raw[offset]
                let digit: UInt32 = byte <= 0x39 ? UInt32(byte - 0x30) : UInt32((byte | 0x20) - 0x61 + 10)
                value = value * 16 + digit
            }
            return value
        }
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            let kind = raw[index + 1]
            index += 2
            switch kind {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(index)
                index += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex(index + 2)
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &output)
            default: output.append(kind)  // " \ /
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | (scalar >> 6)))
            output.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | (scalar >> 12)))
            output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            output.append(UInt8(0xF0 | (scalar >> 18)))
            output.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Skips a nested object or array, validating it, without recursion on the Swift stack.
    private mutating func skipComposite(depth: Int) throws(JSONSyntaxError) {
        // A stack of open containers: true for object, false for array.
        var stack: [Bool] = []
        // After an opening bracket or a comma we expect a value (or a member in an object).
        var expectingValue = true
        while true {
            skipWhitespace()
            guard let byte = peek() else { throw error("unterminated object or array") }
            if expectingValue {
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                    let isObject = byte == UInt8(ascii: "{")
                    stack.append(isObject)
                    if depth + stack.count > Self.maximumDepth { throw error("nesting deeper than \(Self.maximumDepth) levels") }
                    position += 1
                    skipWhitespace()
                    if peek() == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        position += 1
                        stack.removeLast()
                        if stack.isEmpty { return }
                        expectingValue = false
                        continue
                    }
                    if isObject { try memberName() }
                    continue
                }
                _ = try parseValue(depth: depth + stack.count, decode: false)
                expectingValue = false
                if stack.isEmpty { return }
                continue
            }
            // After a value: ',' or the closing bracket of the innermost container.
            let isObject = stack[stack.count - 1]
            if byte == UInt8(ascii: ",") {
                position += 1
                if isObject { skipWhitespace(); try memberName() }
                expectingValue = true
            } else if byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                position += 1
                stack.removeLast()
                if stack.isEmpty { return }
            } else {
                throw error("expected ',' or a closing bracket")
            }
        }
    }

    private mutating func memberName() throws(JSONSyntaxError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
        _ = try parseString(decode: false)
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
        position += 1
    }
}

/// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    let count = bytes.count
    while index < count {
        let lead = bytes[index]
        if lead < 0x80 { index += 1; continue }
        func continuation(_ offset: Int) -> Bool {
            index + offset < count && bytes[index + offset] & 0xC0 == 0x80
        }
        switch lead {
        case 0xC2...0xDF:
            guard continuation(1) else { return false }
            index += 2
        case 0xE0...0xEF:
            guard continuation(1), continuation(2) else { return false }
            let second = bytes[index + 1]
            if lead == 0xE0 && second < 0xA0 { return false }  // overlong
            if lead == 0xED && second > 0x9F { return false }  // surrogates
            index += 3
        case 0xF0...0xF4:
            guard continuation(1), continuation(2), continuation(3) else { return false }
            let second = bytes[index + 1]
            if lead == 0xF0 && second < 0x90 { return false }  // overlong
            if lead == 0xF4 && second > 0x8F { return false }  // above U+10FFFF
            index += 4
        default:
            return false
        }
    }
    return true
}

/// Validates one NDJSON line against the contract and renders it as a row of PostgreSQL's COPY
/// text format for its kind's staging table.

struct RejectReason: Error {
    /// The record's kind when it could be read (`message`, ...), for per-kind counts.
    let kind: String?
    let reason: String
}

enum RecordValidator {
    static let maximumIdentifierLength = 200

    /// Validates `line` (one line without its terminator) and appends its COPY row
    /// (columns of the kind, then `extra`, then `sequence`) to `output`.
    /// Returns the kind index, or throws the reason the record is rejected. `zones` are the time
    /// zone names a business_hours record may use (the loader passes the server's).
    static func validate(_ line: UnsafeBufferPointer<UInt8>, sequence: Int64, into output: inout [UInt8],
                         zones: TimeZoneNames = .foundation) throws(RejectReason) -> Int {
        guard isValidUTF8(line) else {
            throw RejectReason(kind: nil, reason: "not valid UTF-8")
        }
        let members: [JSONMember]
        do {
            members = try JSONLineReader.parseObject(line)
        } catch where error.message == JSONLineReader.notAnObject {
            throw RejectReason(kind: nil, reason: JSONLineReader.notAnObject)
        } catch {
            throw RejectReason(kind: nil, reason: "not valid JSON: \(error.message) at byte \(error.offset + 1)")
        }
        guard let typeIndex = members.lastIndex(where: { isSameText($0.key, "type") }) else {
            throw RejectReason(kind: nil, reason: "missing required field \"type\"")
        }
        guard case .string(let type) = members[typeIndex].value else {
            if members[typeIndex].value == .null {
                throw RejectReason(kind: nil, reason: "missing required field \"type\"")
            }
            throw RejectReason(kind: nil, reason: "field \"type\" must be a string, got \(members[typeIndex].value.typeName)")
        }
        guard let kindIndex = RecordKind.all.firstIndex(where: { isSameText(type, $0.type) }) else {
            throw RejectReason(kind: nil, reason: "unknown type \"\(truncated(type))\"")
        }
        let kind = RecordKind.all[kindIndex]
        // Which member holds each field (later duplicates of a name win, as in most JSON
        // readers), found by comparing names: no hashing on this per-line path.
        var fieldMember = [Int](repeating: -1, count: kind.fields.count)
        var isExtra = [Bool](repeating: false, count: members.count)
        for (memberIndex, member) in members.enumerated() {
            if let fieldIndex = kind.fields.firstIndex(where: { isSameText(member.key, $0.name) }) {
                fieldMember[fieldIndex] = memberIndex
            } else if !isSameText(member.key, "type") {
                isExtra[memberIndex] = true
            }
        }
        let rowStart = output.count
        do {
            for (fieldIndex, field) in kind.fields.enumerated() {
                let memberIndex = fieldMember[fieldIndex]
                let value = memberIndex >= 0 ? members[memberIndex].value : .null
                let hasNUL = memberIndex >= 0 && members[memberIndex].containsNULEscape
                let raw = memberIndex >= 0 ? UnsafeBufferPointer(rebasing: line[members[memberIndex].valueRange]) : nil
                try appendField(field, value, raw: raw, containsNUL: hasNUL, kind: kind, zones: zones, to: &output)
                output.append(0x09)  // tab
            }
            try appendExtra(members: members, isExtra: isExtra, kind: kind, line: line, to: &output)
            output.append(0x09)
            appendDecimal(sequence, to: &output)
            output.append(0x0A)
        } catch {
            output.removeSubrange(rowStart...)
            throw error
        }
        return kindIndex
    }

    private static func appendField(_ field: FieldSpec, _ value: JSONValue, raw: UnsafeBufferPointer<UInt8>?,
                                    containsNUL: Bool, kind: RecordKind, zones: TimeZoneNames,
                                    to output: inout [UInt8]) throws(RejectReason) {
        func reject(_ reason: String) -> RejectReason { RejectReason(kind: kind.type, reason: reason) }
        if value == .null {
            if field.isRequired { throw reject("missing required field \"\(field.name)\"") }
            if case .boolean(let defaultValue) = field.type {
                output.append(defaultValue ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            } else if field.type == .localDates {
                BusinessHoursFields.appendNoDates(to: &output)
            } else {
                output.append(UInt8(ascii: "\\")); output.append(UInt8(ascii: "N"))
            }
            return
        }
        switch field.type {
        case .identifier, .text, .openEnumeration, .closedEnumeration, .timestamp, .timeZone:
            guard case .string(let text) = value else {
                throw reject("field \"\(field.name)\" must be a string, got \(value.typeName)")
            }
            // A NUL can only come from a \u0000 escape (a raw one is not valid JSON).
            if containsNUL {
                throw reject("field \"\(field.name)\" contains a NUL character (\\u0000), which cannot be stored")
            }
            switch field.type {
            case .identifier:
                if text.isEmpty { throw reject("field \"\(field.name)\" must be a non-empty identifier") }
                if text.unicodeScalars.count > maximumIdentifierLength {
                    throw reject("field \"\(field.name)\" is longer than \(maximumIdentifierLength) characters")
                }
                appendCopyText(text, to: &output)
            case .closedEnumeration(let allowed):
                guard allowed.contains(where: { isSameText(text, $0) }) else {
                    throw reject("field \"\(field.name)\" has value \"\(truncated(text))\" outside \(allowed.joined(separator: ", "))")
                }
                appendCopyText(text, to: &output)
            case .timestamp:
                guard let instant = Instant.parse(text, .inputFormat) else {
                    throw reject("field \"\(field.name)\" is not an RFC 3339 timestamp with an offset (years 0001-9999): \"\(truncated(text))\"")
                }
                instant.appendPostgresLiteral(to: &output)
            case .timeZone:
                guard let zone = zones.canonical(text) else {
                    throw reject("field \"\(field.name)\" is not a known IANA time zone: \"\(truncated(text))\"")
                }
                appendCopyText(zone, to: &output)
            default:
                appendCopyText(text, to: &output)
            }
        case .boolean:
            guard case .bool(let flag) = value else {
                throw reject("field \"\(field.name)\" must be a boolean, got \(value.typeName)")
            }
            output.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .score:
            guard case .number(let number) = value else {
                throw reject("field \"\(field.name)\" must be a number, got \(value.typeName)")
            }
            // Decided on the exact decimal text: 5.0 and 5e0 are 5; 4.5 and 4.9999999999999999999
            // are not integers and are rejected, never rounded.
            guard let score = number.integer(in: 1...5) else {
                throw reject("field \"\(field.name)\" is out of range: must be an integer from 1 to 5, got \(truncated(number.text))")
            }
            appendDecimal(score, to: &output)
        case .shifts, .localDates:
            // A \u0000 anywhere in the value (even in a member that is ignored) rejects the
            // record, as in every other field.
            if containsNUL {
                throw reject("field \"\(field.name)\" contains a NUL character (\\u0000), which cannot be stored")
            }
            guard case .composite = value, let raw else {
                throw reject(field.type == .shifts ? "field \"weekly\" must be an array of shifts"
                                                   : "field \"closed_dates\" must be an array of dates YYYY-MM-DD")
            }
            // Validated ASCII text without tabs, newlines or backslashes: nothing to escape for COPY.
            if field.type == .shifts {
                try BusinessHoursFields.appendShifts(raw, to: &output)
            } else {
                try BusinessHoursFields.appendLocalDates(raw, to: &output)
            }
        }
    }

    /// Members the contract does not list are kept verbatim in `extra` as a JSON object.
    private static func appendExtra(members: [JSONMember], isExtra: [Bool], kind: RecordKind,
                                    line: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) throws(RejectReason) {
        var first = true
        // An earlier duplicate of a name is superseded by the later one: the last index of each
        // name, found in one pass (comparing every member with the rest was quadratic).
        var lastOfName: [[UInt8]: Int] = [:]
        for (index, member) in members.enumerated() where isExtra[index] { lastOfName[Array(member.key.utf8)] = index }
        for (index, member) in members.enumerated() where isExtra[index] {
            if lastOfName[Array(member.key.utf8)] != index { continue }
            if member.containsNULEscape {
                throw RejectReason(kind: kind.type, reason: "field \"\(truncated(member.key))\" contains \\u0000, which cannot be stored")
            }
            output.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            appendCopyBytes(UnsafeBufferPointer(rebasing: line[member.keyRange]), to: &output)
            output.append(UInt8(ascii: ":"))
            appendCopyBytes(UnsafeBufferPointer(rebasing: line[member.valueRange]), to: &output)
        }
        if first {
            output.append(UInt8(ascii: "\\")); output.append(UInt8(ascii: "N"))
        } else {
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Whether two texts are the same UTF-8 bytes. Not `==`: String comparison and hashing apply
    /// Unicode canonical equivalence, which takes quadratic time on a long run of combining marks
    /// (a 2 MB member name took minutes), and JSON compares names code point by code point
    /// (RFC 8259, section 8.3). It differs from `==` only for canonically equivalent spellings,
    /// such as "BUL\u{212A}" (KELVIN SIGN) for "BULK", which passed this check and then failed
    /// the whole load on the table's check constraint.
    static func isSameText(_ left: String, _ right: String) -> Bool {
        left.utf8.count == right.utf8.count && left.utf8.elementsEqual(right.utf8)
    }

    /// At most 60 Unicode scalars of `text` (not characters: one character can hold any number
    /// of combining marks, and a quoted value must not carry a whole line into a reason).
    static func truncated(_ text: String) -> String {
        guard text.unicodeScalars.count > 60 else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(60))) + "…"
    }
}

/// Appends `text` escaped for COPY's text format (backslash, tab, newline, carriage return).
func appendCopyText(_ text: String, to output: inout [UInt8]) {
    var text = text
    text.withUTF8 { appendCopyBytes($0, to: &output) }
}

func appendCopyBytes(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
    var needsEscape = false
    for byte in bytes where byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D {
        needsEscape = true
        break
    }
    if !needsEscape {
        output.append(contentsOf: bytes)
        return
    }
    for byte in bytes {
        switch byte {
        case 0x5C: output.append(0x5C); output.append(0x5C)
        case 0x09: output.append(0x5C); output.append(UInt8(ascii: "t"))
        case 0x0A: output.append(0x5C); output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(0x5C); output.append(UInt8(ascii: "r"))
        default: output.append(byte)
        }
    }
}

func appendDecimal(_ value: Int64, to output: inout [UInt8]) {
    if value == 0 { output.append(0x30); return }
    var digits: [UInt8] = []
    var remaining = value.magnitude
    while remaining > 0 {
        digits.append(UInt8(0x30 + remaining % 10))
        remaining /= 10
    }
    if value < 0 { output.append(UInt8(ascii: "-")) }
    output.append(contentsOf: digits.reversed())
}

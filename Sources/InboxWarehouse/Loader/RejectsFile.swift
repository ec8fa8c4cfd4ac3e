import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `--rejects` NDJSON output.
final class RejectsFile {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw WarehouseError.io("cannot create the rejects file \(path)")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw WarehouseError.io("cannot open the rejects file \(path)")
        }
        self.handle = handle
    }

    func write(source: String, line: Int64, reason: [UInt8], raw: [UInt8]) throws {
        buffer.append(contentsOf: #"{"source":"#.utf8)
        appendJSONString(source, to: &buffer)
        buffer.append(contentsOf: #","line":"#.utf8)
        appendDecimal(line, to: &buffer)
        buffer.append(contentsOf: #","reason":"#.utf8)
        reason.withUnsafeBufferPointer { appendJSONString($0, to: &buffer) }
        buffer.append(contentsOf: #","raw":"#.utf8)
        raw.withUnsafeBufferPointer { appendJSONString($0, to: &buffer) }
        buffer.append(contentsOf: "}\n".utf8)
        if buffer.count > 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.close()
    }
}

// MARK: Reject text

/// The first `limit` bytes of a line, or a little fewer so as not to split a UTF-8 sequence.
func keptPrefix(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> UnsafeBufferPointer<UInt8> {
    guard bytes.count > limit else { return bytes }
    var end = limit
    while end > limit - 3 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
    return UnsafeBufferPointer(rebasing: bytes[0..<end])
}

/// `bytes` as UTF-8 that PostgreSQL text can hold: invalid sequences and NULs become U+FFFD.
/// (Byte by byte: replacing NUL scalars in a String was quadratic.)
func storableText(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    let decoded = String(decoding: bytes, as: UTF8.self)
    var text: [UInt8] = []
    text.reserveCapacity(decoded.utf8.count + 16)
    for byte in decoded.utf8 {
        if byte == 0 { text.append(0xEF); text.append(0xBF); text.append(0xBD) } else { text.append(byte) }
    }
    return text
}

/// A reason as UTF-8 that PostgreSQL text can hold (a NUL written back as `\u0000`), cut to at
/// most `limit` bytes (plus an ellipsis) without splitting a UTF-8 sequence.
func storableReason(_ reason: String, limit: Int) -> [UInt8] {
    var text: [UInt8] = []
    text.reserveCapacity(min(reason.utf8.count, limit) + 8)
    for byte in reason.utf8 {
        if text.count >= limit {
            while let last = text.last, last & 0xC0 == 0x80 { text.removeLast() }  // a cut sequence's tail
            if let last = text.last, last >= 0xC0 { text.removeLast() }             // and its lead byte
            text.append(contentsOf: "…".utf8)
            break
        }
        if byte == 0 { text.append(contentsOf: #"\u0000"#.utf8) } else { text.append(byte) }
    }
    return text
}

/// Appends `text` as a JSON string literal.
func appendJSONString(_ text: String, to output: inout [UInt8]) {
    var text = text
    text.withUTF8 { appendJSONString($0, to: &output) }
}

/// Appends UTF-8 `bytes` as a JSON string literal.
func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
    output.reserveCapacity(output.count + bytes.count + 2)
    output.append(UInt8(ascii: "\""))
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "\""): output.append(0x5C); output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(0x5C); output.append(0x5C)
        case 0x0A: output.append(0x5C); output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(0x5C); output.append(UInt8(ascii: "r"))
        case 0x09: output.append(0x5C); output.append(UInt8(ascii: "t"))
        case 0..<0x20:
            output.append(0x5C); output.append(UInt8(ascii: "u")); output.append(0x30); output.append(0x30)
            output.append(jsonHexDigits[Int(byte >> 4)])
            output.append(jsonHexDigits[Int(byte & 0x0F)])
        default: output.append(byte)
        }
    }
    output.append(UInt8(ascii: "\""))
}

private let jsonHexDigits = Array("0123456789abcdef".utf8)

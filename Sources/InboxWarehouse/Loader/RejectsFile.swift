import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `--rejects` file could not be written completely (a full disk, a closed FIFO, `/dev/full`).
/// The load itself ran to its end: `summary` is what it did, and every reject is in
/// `warehouse.load_rejects`.
public struct RejectsFileError: Error, CustomStringConvertible, Sendable {
    public let summary: LoadSummary
    public let path: String
    /// The system's reason (`No space left on device`).
    public let failure: String
    /// Reject lines written completely before the error.
    public let linesWritten: Int64
    /// Whether the file was cut back to its whole lines (a regular file the loader opened).
    public let keepsWholeLines: Bool

    public var description: String {
        let loadIDs = summary.files.map { String($0.loadID) }.joined(separator: ", ")
        let held = keepsWholeLines
            ? "it holds only the first \(linesWritten) of \(summary.rejected) rejects"
            : "only the first \(linesWritten) of \(summary.rejected) rejects were written"
        return "could not write the rejects file \(path): \(failure); it is incomplete: \(held). "
            + "Every reject is still in warehouse.load_rejects (load_id \(loadIDs)); "
            + "the load itself completed (\(summary.loaded) loaded, \(summary.rejected) rejected)."
    }
}

/// The `--rejects` NDJSON output: one line `{"source","line","reason","raw"}` per reject.
///
/// What the path names decides how it is written:
/// - `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`, or a symbolic link that leads
///   to one of them: the process's own descriptor, duplicated and written at its current
///   position. Never reopened, truncated or replaced.
/// - A FIFO or a character device (`/dev/null`, a terminal): opened and written in place; a
///   FIFO waits for its reader (a cancel stops the wait).
/// - A regular file (symbolic links followed) is truncated and written in place; a missing
///   file is created (mode 0666 less the umask, as a shell redirection does). A dangling
///   symbolic link is refused rather than followed.
/// - A directory, a block device or a socket is refused.
///
/// A write error does not throw: it stops the output (nothing more is written, and a regular
/// file is cut back to its last whole line) and `close()` reports it, so that the load runs to
/// its end with every reject stored in the database.
final class RejectsFile {
    let path: String
    private var descriptor: Int32
    /// A regular file this object opened: synced at close, cut back to whole lines on an error.
    private let isOwnRegularFile: Bool
    private var buffer: [UInt8] = []
    private var bufferedLines: Int64 = 0
    private var wholeLinesEnd: off_t = 0
    private(set) var linesWritten: Int64 = 0
    private(set) var failure: String?
    private var isClosed = false

    var keepsWholeLines: Bool { isOwnRegularFile }

    init(path: String, isCancelled: () -> Bool = { false }) throws {
        self.path = path
        func refuse(_ why: String) -> WarehouseError {
            WarehouseError.io("cannot write the rejects to \(path): \(why)")
        }
        func systemError() -> WarehouseError { refuse(String(cString: strerror(errno))) }

        if let stream = processDescriptor(named: path) {
            let duplicate = fcntl(stream, F_DUPFD_CLOEXEC, 3)
            guard duplicate >= 0 else { throw refuse("descriptor \(stream) is not open (\(String(cString: strerror(errno))))") }
            descriptor = duplicate
            isOwnRegularFile = false
            return
        }
        var info = stat()
        var opened: Int32
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                opened = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
            case S_IFCHR:
                opened = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            case S_IFIFO:
                opened = try openFIFO(path, isCancelled: isCancelled)
            case S_IFDIR:
                throw refuse("it is a directory")
            case S_IFBLK:
                throw refuse("it is a block device (rejects go to a file, a FIFO, a character device or a standard stream)")
            default:
                throw refuse("it is a socket")
            }
        } else if errno == ENOENT {
            // O_EXCL: never follow a dangling symbolic link to create its target. Mode 0600, not
            // the umask's: rejects keep raw input lines (message contents, contacts' details).
            opened = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if opened < 0 && errno == EEXIST {
                throw refuse("it is a symbolic link to a missing file, which is not followed")
            }
        } else {
            throw systemError()
        }
        guard opened >= 0 else { throw systemError() }
        // What was opened is what was checked (nothing was swapped in between).
        var openedInfo = stat()
        guard fstat(opened, &openedInfo) == 0 else { let error = systemError(); Glibc.close(opened); throw error }
        let type = openedInfo.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFCHR || type == S_IFIFO else {
            Glibc.close(opened)
            throw refuse("it is no longer a file, a FIFO or a character device")
        }
        descriptor = opened
        isOwnRegularFile = type == S_IFREG
    }

    func write(source: String, line: Int64, reason: [UInt8], raw: [UInt8]) {
        guard failure == nil, !isClosed else { return }
        buffer.append(contentsOf: #"{"source":"#.utf8)
        appendJSONString(source, to: &buffer)
        buffer.append(contentsOf: #","line":"#.utf8)
        appendDecimal(line, to: &buffer)
        buffer.append(contentsOf: #","reason":"#.utf8)
        reason.withUnsafeBufferPointer { appendJSONString($0, to: &buffer) }
        buffer.append(contentsOf: #","raw":"#.utf8)
        raw.withUnsafeBufferPointer { appendJSONString($0, to: &buffer) }
        buffer.append(contentsOf: "}\n".utf8)
        bufferedLines += 1
        if buffer.count > 1 << 20 { flush() }
    }

    private func flush() {
        guard failure == nil, !buffer.isEmpty else { buffer.removeAll(keepingCapacity: true); return }
        var written = 0
        while written < buffer.count {
            let count = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count > 0 { written += count; continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN {
                var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1000)
                continue
            }
            failure = count < 0 ? String(cString: strerror(errno)) : "nothing could be written"
            break
        }
        if failure == nil {
            wholeLinesEnd += off_t(buffer.count)
            linesWritten += bufferedLines
        } else {
            // Count the whole lines that made it; in a file of our own, cut off the rest.
            let whole = buffer[0..<written].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            linesWritten += Int64(buffer[0..<whole].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
            if isOwnRegularFile { _ = ftruncate(descriptor, wholeLinesEnd + off_t(whole)) }
        }
        buffer.removeAll(keepingCapacity: true)
        bufferedLines = 0
    }

    /// Writes what is buffered, syncs a regular file and closes it. Returns the first write,
    /// sync or close error (nil when every reject was written).
    func close() -> String? {
        guard !isClosed else { return failure }
        flush()
        if failure == nil && isOwnRegularFile && fsync(descriptor) != 0 {
            failure = String(cString: strerror(errno))
        }
        isClosed = true
        if Glibc.close(descriptor) != 0 && failure == nil && errno != EINTR {
            failure = String(cString: strerror(errno))
        }
        return failure
    }

    /// Closes without reporting (the load failed for another reason, which is reported).
    func abandon() {
        guard !isClosed else { return }
        _ = close()
    }
}

/// Opens a FIFO for writing once it has a reader, asking `isCancelled` while it waits.
private func openFIFO(_ path: String, isCancelled: () -> Bool) throws -> Int32 {
    while true {
        let opened = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if opened >= 0 {
            _ = fcntl(opened, F_SETFL, fcntl(opened, F_GETFL) & ~O_NONBLOCK)
            return opened
        }
        if errno == EINTR { continue }
        guard errno == ENXIO else { return -1 }  // ENXIO: no reader yet
        if isCancelled() { throw LoadCancelled() }
        usleep(100_000)
    }
}

/// The descriptor of this process that `path` names: `/dev/stdin`, `/dev/stdout`, `/dev/stderr`,
/// `/dev/fd/N`, `/proc/self/fd/N`, `/proc/<this pid>/fd/N`, or a chain of symbolic links ending
/// at one of them. Such a path must be written through the descriptor itself: opening it anew
/// would start at offset 0 (and truncate) a file that standard error appends to, and fails for
/// a socket.
func processDescriptor(named path: String) -> Int32? {
    let ownDirectories = ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", "/proc/\(getpid())/fd/"]
    var current = path
    for _ in 0..<40 {
        // Resolve the directories (/dev/fd -> /proc/self/fd -> /proc/<pid>/fd), not the last name.
        let slash = current.lastIndex(of: "/")
        let directory = slash.map { $0 == current.startIndex ? "/" : String(current[..<$0]) } ?? "."
        let name = slash.map { String(current[current.index(after: $0)...]) } ?? current
        var resolved = directory
        if let real = realpath(directory, nil) {
            resolved = String(cString: real)
            free(real)
        }
        let full = (resolved.hasSuffix("/") ? resolved : resolved + "/") + name
        switch full {
        case "/dev/stdin": return 0
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default: break
        }
        for prefix in ownDirectories where full.hasPrefix(prefix) {
            let number = full.dropFirst(prefix.count)
            if !number.isEmpty, number.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int32(number) { return value }
        }
        var info = stat()
        guard lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return nil }
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(full, &target, Int(PATH_MAX))
        guard length > 0 else { return nil }
        let link = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        current = link.hasPrefix("/") ? link : (resolved.hasSuffix("/") ? resolved : resolved + "/") + link
    }
    return nil
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

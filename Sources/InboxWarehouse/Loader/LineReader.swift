import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a byte stream line by line in large chunks, without holding the stream in memory.
/// Lines are handed out as buffers that are valid only during the callback.
///
/// Every step is linear in the bytes read: the newline search is `memchr`, a line that spans
/// chunks is appended to one growing buffer, and the part of an overlong line past the limit is
/// only hashed and counted. `isCancelled` is asked before every read, and every quarter second
/// while a pipe or terminal has nothing to read, so a load stops promptly even inside a long line
/// or on a quiet standard input.
struct LineReader {
    /// Lines longer than this are not kept whole: the reader hands out their first
    /// `maximumLineBytes` bytes with `isTruncated` set and skips the rest.
    static let defaultMaximumLineBytes = 64 * 1024 * 1024

    let descriptor: Int32
    let chunkSize: Int
    let maximumLineBytes: Int
    let isCancelled: () -> Bool

    init(descriptor: Int32, chunkSize: Int = 256 * 1024, maximumLineBytes: Int = defaultMaximumLineBytes,
         isCancelled: @escaping () -> Bool = { false }) {
        self.descriptor = descriptor
        self.chunkSize = chunkSize
        self.maximumLineBytes = maximumLineBytes
        self.isCancelled = isCancelled
    }

    struct Line {
        let number: Int64
        let bytes: UnsafeBufferPointer<UInt8>
        let isTruncated: Bool
        /// The length of the whole line in bytes (without its `\n` and a `\r` before it); larger
        /// than `bytes.count` when the line was truncated.
        let length: Int
        /// For a truncated line, the SHA-256 of the whole line (the skipped part is hashed as it
        /// is read); nil otherwise, where `bytes` is the whole line.
        let truncatedSHA256: String?
    }

    /// Calls `body` for every line (the `\n` and a `\r` before it removed). `onChunk` sees every
    /// raw chunk read (for hashing and byte counts). Returns the number of lines.
    @discardableResult
    func forEachLine(onChunk: (UnsafeRawBufferPointer) -> Void = { _ in },
                     _ body: (Line) throws -> Void) throws -> Int64 {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var carry = Carry(limit: maximumLineBytes)  // start of a line that spans chunks
        var lineNumber: Int64 = 0
        let waitsForInput = !isRegularFile(descriptor)

        func emit(_ bytes: UnsafeBufferPointer<UInt8>, truncated: Bool, length: Int, digest: String?) throws {
            lineNumber += 1
            var count = bytes.count
            var length = length
            if !truncated && count > 0 && bytes[count - 1] == 0x0D { count -= 1; length -= 1 }
            try body(Line(number: lineNumber, bytes: UnsafeBufferPointer(rebasing: bytes[0..<count]), isTruncated: truncated,
                          length: length, truncatedSHA256: digest))
        }

        while true {
            if isCancelled() { throw LoadCancelled() }
            if waitsForInput, try !waitForInput() { throw LoadCancelled() }
            let got = read(descriptor, chunk.baseAddress, chunkSize)
            if got < 0 {
                if errno == EINTR { continue }
                throw WarehouseError.io("read failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            let data = UnsafeRawBufferPointer(rebasing: chunk[0..<got])
            onChunk(data)
            let bytes = data.bindMemory(to: UInt8.self)
            guard let base = bytes.baseAddress else { continue }
            var start = 0
            while start < bytes.count {
                guard let found = memchr(base + start, 0x0A, bytes.count - start) else {
                    carry.append(UnsafeBufferPointer(rebasing: bytes[start...]))
                    break
                }
                let newline = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if carry.isEmpty {
                    try emit(UnsafeBufferPointer(rebasing: bytes[start..<newline]), truncated: false,
                             length: newline - start, digest: nil)
                } else {
                    carry.append(UnsafeBufferPointer(rebasing: bytes[start..<newline]))
                    let (length, digest) = carry.finishLine()
                    try carry.bytes.withUnsafeBufferPointer { try emit($0, truncated: digest != nil, length: length, digest: digest) }
                    carry.reset(keepingCapacity: carry.bytes.count <= 4 * chunkSize)
                }
                start = newline + 1
            }
        }
        if !carry.isEmpty {
            let (length, digest) = carry.finishLine()
            try carry.bytes.withUnsafeBufferPointer { try emit($0, truncated: digest != nil, length: length, digest: digest) }
        }
        return lineNumber
    }

    /// Waits until the descriptor has something to read (or its end); false when cancelled.
    private func waitForInput() throws -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&entry, 1, 250)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR {
                throw WarehouseError.io("poll failed: \(String(cString: strerror(errno)))")
            }
            if isCancelled() { return false }
        }
    }

    /// The part of a line read so far, when it spans chunks: its first `limit` bytes, and past
    /// them the running length and SHA-256 of the whole line (a final `\r` held back until it
    /// is known not to end the line).
    private struct Carry {
        let limit: Int
        var bytes: [UInt8] = []
        var hasher: SHA256?
        var length = 0
        var pendingCR = false

        init(limit: Int) { self.limit = limit }

        var isEmpty: Bool { length == 0 && !pendingCR }

        mutating func append(_ part: UnsafeBufferPointer<UInt8>) {
            guard !part.isEmpty else { return }
            if hasher == nil {
                let room = limit - bytes.count
                if part.count <= room {
                    bytes.append(contentsOf: part)
                    length += part.count
                    return
                }
                // The line passes the limit: keep the first `limit` bytes, hash from the start.
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: part[0..<room]))
                var started = SHA256()
                bytes.withUnsafeBytes { started.update(bufferPointer: $0) }
                hasher = started
                length = bytes.count
                skip(UnsafeBufferPointer(rebasing: part[room...]))
                return
            }
            skip(part)
        }

        private mutating func skip(_ part: UnsafeBufferPointer<UInt8>) {
            guard !part.isEmpty else { return }
            if pendingCR {
                withUnsafeBytes(of: UInt8(0x0D)) { hasher?.update(bufferPointer: $0) }
                length += 1
                pendingCR = false
            }
            var body = part
            if part[part.count - 1] == 0x0D {
                pendingCR = true
                body = UnsafeBufferPointer(rebasing: part[0..<(part.count - 1)])
            }
            hasher?.update(bufferPointer: UnsafeRawBufferPointer(body))
            length += body.count
        }

        /// The whole line's length and, when it passed the limit, its SHA-256. A held-back final
        /// `\r` is dropped, as for any line.
        func finishLine() -> (length: Int, digest: String?) {
            // A line of exactly `limit` bytes followed by `\r\n` fits: `bytes` is all of it.
            guard let hasher, length > limit else { return (bytes.count, nil) }
            return (length, hexadecimal(hasher.finalize()))
        }

        mutating func reset(keepingCapacity: Bool) {
            bytes.removeAll(keepingCapacity: keepingCapacity)
            hasher = nil
            length = 0
            pendingCR = false
        }
    }
}

/// Thrown when a load is cancelled (SIGINT or SIGTERM in the command line tool).
struct LoadCancelled: Error {}

/// Whether a descriptor is a regular file (which never blocks a read).
func isRegularFile(_ descriptor: Int32) -> Bool {
    var info = stat()
    return fstat(descriptor, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
}

/// Lower-case hexadecimal of a digest.
func hexadecimal<Digest: Sequence>(_ digest: Digest) -> String where Digest.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in digest {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// An input of the loader: a file (optionally gzip-compressed) or standard input.
public enum LoadSource: Sendable, Equatable {
    case file(String)
    case standardInput
    /// An open descriptor (a pipe or socket a producer writes NDJSON into, e.g. an importer),
    /// read to its end and closed by the loader. `name` is the source name the load ledger and
    /// the rejects record. Not for strict loads, which read their input twice.
    case stream(name: String, descriptor: Int32)

    /// `-` is standard input; anything else is a path.
    public init(argument: String) {
        self = argument == "-" ? .standardInput : .file(argument)
    }

    public var name: String {
        switch self {
        case .file(let path): return path
        case .standardInput: return "-"
        case .stream(let name, _): return name
        }
    }

    var isCompressed: Bool {
        if case .file(let path) = self { return path.hasSuffix(".gz") }
        return false
    }
}

/// An open input stream: a descriptor to read lines from, plus what is needed to close it.
final class OpenedSource {
    let descriptor: Int32
    private var childPID: pid_t?
    private var isOpen: Bool
    /// Size of the file in bytes, when known (for progress).
    let size: Int64?

    init(_ source: LoadSource) throws {
        switch source {
        case .standardInput:
            descriptor = 0
            isOpen = false
            size = nil
        case .stream(_, let opened):
            descriptor = opened
            isOpen = true
            size = nil
        case .file(let path):
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT != S_IFDIR else {
                throw WarehouseError.io("\(path): is a directory")
            }
            size = Int64(info.st_size)
            if source.isCompressed {
                // gzip decompresses in a separate process, streaming into our pipe.
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else {
                    throw WarehouseError.io("cannot create a pipe: \(String(cString: strerror(errno)))")
                }
                _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
                do {
                    childPID = try Subprocess.spawn("gzip", ["-dc", "--", path], standardInput: "/dev/null",
                                                    standardOutputDescriptor: ends[1])
                } catch {
                    close(ends[0]); close(ends[1])
                    throw error
                }
                close(ends[1])
                descriptor = ends[0]
                isOpen = true
            } else {
                let opened = open(path, O_RDONLY | O_CLOEXEC)
                guard opened >= 0 else {
                    throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))")
                }
                descriptor = opened
                isOpen = true
            }
        }
    }

    /// A descriptor opened by the caller (the spool of standard input), read from its start
    /// and left open.
    init(rewinding descriptor: Int32) throws {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw WarehouseError.io("cannot rewind the spool of standard input: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        self.descriptor = descriptor
        isOpen = false
        size = fstat(descriptor, &info) == 0 ? Int64(info.st_size) : nil
    }

    /// Closes the stream; for a compressed file, fails if gzip reported an error.
    func finish(name: String) throws {
        if isOpen { close(descriptor); isOpen = false }
        if let pid = childPID {
            childPID = nil
            let status = Subprocess.wait(pid)
            if status != 0 {
                throw WarehouseError.io("\(name): gzip could not decompress it (exit \(status))")
            }
        }
    }

    deinit {
        // Left early (an error, a cancel): close our end first, so that a gzip blocked on a full
        // pipe is not waited for, and use SIGKILL, since gzip inherits the ignored SIGINT and
        // SIGTERM of a command that is handling them.
        if isOpen { close(descriptor) }
        if let pid = childPID {
            kill(pid, SIGKILL)
            _ = Subprocess.wait(pid)
        }
    }
}

/// Computes the SHA-256 of a file in chunks; `isCancelled` is asked between chunks.
func sha256OfFile(_ path: String, isCancelled: () -> Bool = { false }) throws -> (hash: String, bytes: Int64) {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var hasher = SHA256()
    var total: Int64 = 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        if isCancelled() { throw LoadCancelled() }
        let got = read(descriptor, buffer.baseAddress, buffer.count)
        if got < 0 {
            if errno == EINTR { continue }
            throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))")
        }
        if got == 0 { break }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        total += Int64(got)
    }
    return (hexadecimal(hasher.finalize()), total)
}

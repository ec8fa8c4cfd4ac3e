import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a byte stream line by line in large chunks, without holding the stream in memory.
/// Lines are handed out as buffers that are valid only during the callback.
struct LineReader {
    /// Lines longer than this are not kept whole: the reader hands out their first
    /// `maximumLineBytes` bytes with `isTruncated` set and skips the rest.
    static let defaultMaximumLineBytes = 64 * 1024 * 1024

    let descriptor: Int32
    let chunkSize: Int
    let maximumLineBytes: Int

    init(descriptor: Int32, chunkSize: Int = 256 * 1024, maximumLineBytes: Int = defaultMaximumLineBytes) {
        self.descriptor = descriptor
        self.chunkSize = chunkSize
        self.maximumLineBytes = maximumLineBytes
    }

    struct Line {
        let number: Int64
        let bytes: UnsafeBufferPointer<UInt8>
        let isTruncated: Bool
    }

    /// Calls `body` for every line (the `\n` and a `\r` before it removed). `onChunk` sees every
    /// raw chunk read (for hashing and byte counts). Returns the number of lines.
    @discardableResult
    func forEachLine(onChunk: (UnsafeRawBufferPointer) -> Void = { _ in },
                     _ body: (Line) throws -> Void) throws -> Int64 {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var carry: [UInt8] = []      // start of a line that spans chunks
        var carryTruncated = false
        var lineNumber: Int64 = 0

        func emit(_ bytes: UnsafeBufferPointer<UInt8>, truncated: Bool) throws {
            lineNumber += 1
            var count = bytes.count
            if count > 0 && bytes[count - 1] == 0x0D { count -= 1 }
            try body(Line(number: lineNumber, bytes: UnsafeBufferPointer(rebasing: bytes[0..<count]), isTruncated: truncated))
        }

        while true {
            let got = read(descriptor, chunk.baseAddress, chunkSize)
            if got < 0 {
                if errno == EINTR { continue }
                throw WarehouseError.io("read failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            let data = UnsafeRawBufferPointer(rebasing: chunk[0..<got])
            onChunk(data)
            let bytes = data.bindMemory(to: UInt8.self)
            var start = 0
            while start < bytes.count {
                guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                    appendCarry(UnsafeBufferPointer(rebasing: bytes[start...]), &carry, &carryTruncated)
                    break
                }
                if carry.isEmpty && !carryTruncated {
                    try emit(UnsafeBufferPointer(rebasing: bytes[start..<newline]), truncated: false)
                } else {
                    appendCarry(UnsafeBufferPointer(rebasing: bytes[start..<newline]), &carry, &carryTruncated)
                    try carry.withUnsafeBufferPointer { try emit($0, truncated: carryTruncated) }
                    carry.removeAll(keepingCapacity: carry.count <= 4 * chunkSize)
                    carryTruncated = false
                }
                start = newline + 1
            }
        }
        if !carry.isEmpty || carryTruncated {
            try carry.withUnsafeBufferPointer { try emit($0, truncated: carryTruncated) }
        }
        return lineNumber
    }

    private func appendCarry(_ bytes: UnsafeBufferPointer<UInt8>, _ carry: inout [UInt8], _ truncated: inout Bool) {
        let room = maximumLineBytes - carry.count
        if bytes.count <= room {
            carry.append(contentsOf: bytes)
        } else {
            if room > 0 { carry.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[0..<room])) }
            truncated = true
        }
    }
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
    private let ownsDescriptor: Bool
    /// Size of the file in bytes, when known (for progress).
    let size: Int64?

    init(_ source: LoadSource) throws {
        switch source {
        case .standardInput:
            descriptor = 0
            ownsDescriptor = false
            size = nil
        case .stream(_, let opened):
            descriptor = opened
            ownsDescriptor = true
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
                ownsDescriptor = true
            } else {
                let opened = open(path, O_RDONLY)
                guard opened >= 0 else {
                    throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))")
                }
                descriptor = opened
                ownsDescriptor = true
            }
        }
    }

    /// Closes the stream; for a compressed file, fails if gzip reported an error.
    func finish(name: String) throws {
        if ownsDescriptor { close(descriptor) }
        if let pid = childPID {
            childPID = nil
            let status = Subprocess.wait(pid)
            if status != 0 {
                throw WarehouseError.io("\(name): gzip could not decompress it (exit \(status))")
            }
        }
    }

    deinit {
        if let pid = childPID {
            kill(pid, SIGTERM)
            _ = Subprocess.wait(pid)
        }
    }
}

/// Computes the SHA-256 of a file in chunks.
func sha256OfFile(_ path: String) throws -> (hash: String, bytes: Int64) {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var hasher = SHA256()
    var total: Int64 = 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        let got = read(descriptor, buffer.baseAddress, buffer.count)
        if got < 0 {
            if errno == EINTR { continue }
            throw WarehouseError.io("\(path): \(String(cString: strerror(errno)))")
        }
        if got == 0 { break }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        total += Int64(got)
    }
    return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), total)
}

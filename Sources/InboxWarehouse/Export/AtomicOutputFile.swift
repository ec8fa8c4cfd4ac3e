import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An export's output: a regular file written under a short temporary name in the same directory
/// and renamed into place by `commit()`, so the final name only ever shows a complete file; or a
/// stream (device, FIFO, standard stream) written in place. Hashes and counts as it goes.
///
/// The temporary file is created with mode 0600, so a half-written export is private; it is set
/// to `finalMode` (0640) just before the rename, and removed on every failure.
final class AtomicOutputFile {
    /// The mode of a completed export and of its manifest: owner read-write, group read.
    static let finalMode: mode_t = 0o640
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let finalPath: String?
    private let temporaryPath: String?
    private let name: String
    private var buffer: [UInt8] = []
    private(set) var bytesWritten: Int64 = 0
    // Full blocks are hashed and written on a serial queue while libpq receives the next rows;
    // at most `maximumBlocksInFlight` blocks wait, so memory stays constant.
    private let writer = BlockWriter()
    private let queue = DispatchQueue(label: "inbox-warehouse.export.writer")
    private let blocksInFlight = DispatchSemaphore(value: AtomicOutputFile.maximumBlocksInFlight)
    private static let maximumBlocksInFlight = 4
    private(set) var sha256 = ""
    private static let bufferSize = 256 * 1024

    /// Opens the output for `target`.
    convenience init(_ target: OutputTarget) throws {
        switch target {
        case .file(let path):
            try self.init(finalPath: path)
        case .descriptor(let descriptor, let name):
            self.init(descriptor: descriptor, name: name, owned: false)
        case .stream(let path):
            let opened = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            guard opened >= 0 else {
                throw WarehouseError.io("cannot open \(path) for writing: \(String(cString: strerror(errno)))")
            }
            // The path was a device or FIFO when classified; make sure it still is.
            var status = stat()
            let kind = fstat(opened, &status) == 0 ? status.st_mode & S_IFMT : 0
            guard kind == S_IFCHR || kind == S_IFIFO else {
                close(opened)
                throw WarehouseError.io("\(path) changed while it was opened; nothing was written")
            }
            self.init(descriptor: opened, name: path, owned: true)
        }
    }

    /// A regular file, written under a temporary name in its directory.
    init(finalPath: String) throws {
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WarehouseError.io("\(directory): no such directory")
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(Self.temporaryName(for: url.lastPathComponent)).path
        let opened = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard opened >= 0 else {
            throw WarehouseError.io("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        descriptor = opened
        ownsDescriptor = true
        self.finalPath = finalPath
        temporaryPath = temporary
        name = finalPath
        buffer.reserveCapacity(Self.bufferSize)
    }

    private init(descriptor: Int32, name: String, owned: Bool) {
        self.descriptor = descriptor
        ownsDescriptor = owned
        finalPath = nil
        temporaryPath = nil
        self.name = name
        buffer.reserveCapacity(Self.bufferSize)
    }

    /// `.NAME.PID.N.partial`, with NAME cut (on a character boundary) so that the whole name stays
    /// within 255 bytes: any name legal for the final file has a legal temporary name.
    static func temporaryName(for name: String) -> String {
        let suffix = ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let room = OutputTarget.maximumNameBytes - 1 - suffix.utf8.count
        var kept = ""
        var bytes = 0
        for character in name {
            let size = character.utf8.count
            if bytes + size > room { break }
            kept.append(character)
            bytes += size
        }
        return "." + kept + suffix
    }

    func write<Bytes: Sequence>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferSize { try flush() }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: chunk)
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        if let failure = writer.failure { throw failure }
        let block = SendableBox(buffer)
        buffer = []
        buffer.reserveCapacity(Self.bufferSize)
        bytesWritten += Int64(block.value.count)
        blocksInFlight.wait()
        let descriptor = descriptor, writer = writer, name = name, slots = blocksInFlight
        queue.async {
            writer.write(block.value, to: descriptor, name: name)
            slots.signal()
        }
    }

    /// Waits until every block handed to the queue is written; throws the first write error.
    private func drain() throws {
        queue.sync {}
        if let failure = writer.failure { throw failure }
    }

    /// Flushes, syncs and (for a file) renames the output into place.
    func finish() throws {
        try complete()
        try commit()
    }

    /// Flushes everything; a file is also synced (its hash is then known) and given its final
    /// mode, but not renamed.
    func complete() throws {
        try flush()
        try drain()
        sha256 = writer.finalize()
        guard let finalPath, temporaryPath != nil else { return }
        if fchmod(descriptor, Self.finalMode) != 0 || fsync(descriptor) != 0 {
            let message = String(cString: strerror(errno))
            discard()
            throw WarehouseError.io("writing \(finalPath) failed: \(message)")
        }
    }

    /// Renames the completed temporary file into place; closes a stream this file opened.
    func commit() throws {
        guard let finalPath, let temporaryPath else {
            closeDescriptor()
            return
        }
        closeDescriptor()
        if rename(temporaryPath, finalPath) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw WarehouseError.io("cannot move the export into \(finalPath): \(message)")
        }
    }

    private var isClosed = false

    /// Closes the descriptor once (a second close could close a descriptor opened meanwhile);
    /// never one this file did not open (standard output).
    private func closeDescriptor() {
        guard !isClosed, ownsDescriptor else { return }
        isClosed = true
        close(descriptor)
    }

    /// Removes the partial file (a stream is only closed).
    func discard() {
        queue.sync {}  // no block may still be writing to the descriptor
        closeDescriptor()
        guard let temporaryPath else { return }
        unlink(temporaryPath)
    }
}

/// Hashes and writes blocks; used only from AtomicOutputFile's serial queue, except `failure`.
private final class BlockWriter: @unchecked Sendable {
    private var hasher = SHA256()
    private let lock = NSLock()
    private var firstFailure: Error?

    var failure: Error? { lock.withLock { firstFailure } }

    func write(_ block: [UInt8], to descriptor: Int32, name: String) {
        guard failure == nil else { return }
        block.withUnsafeBytes { bytes in
            hasher.update(bufferPointer: bytes)
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    let error = WarehouseError.io("writing \(name) failed: \(String(cString: strerror(errno)))")
                    lock.withLock { if firstFailure == nil { firstFailure = error } }
                    return
                }
                offset += written
            }
        }
    }

    func finalize() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

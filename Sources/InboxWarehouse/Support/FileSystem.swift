import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The message of the last system call's `errno` (`No space left on device`).
func systemErrorMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Makes `path` a directory, creating missing parents (mode 0777 less the umask, as `mkdir -p`).
/// An existing directory (or a symlink to one) is fine; anything else in the way is a clear
/// error naming `what` (`--output-dir`), never a Foundation error dump.
func makeDirectory(atPath path: String, what: String) throws {
    var status = stat()
    if stat(path, &status) == 0 {
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw WarehouseError.invalidParameter("\(what) \(path) exists and is not a directory")
        }
        return
    }
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    if parent != path && !parent.isEmpty && parent != "/" {
        try makeDirectory(atPath: parent, what: what)
    }
    if mkdir(path, 0o777) != 0 && errno != EEXIST {
        throw WarehouseError.io("cannot create the directory \(path) (\(what)): \(systemErrorMessage())")
    }
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
        throw WarehouseError.invalidParameter("\(what) \(path) exists and is not a directory")
    }
}

/// A directory only its owner may enter (mode 0700, `mkdtemp`) in the system's temporary
/// folder, for files that must not be readable by other users while they wait (SFTP staging,
/// batch files). `remove()` deletes it with everything in it; callers call it on every path
/// (`defer`).
struct PrivateTemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init(prefix: String) throws {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-XXXXXX").path.utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            throw WarehouseError.io("cannot create a private temporary directory: \(systemErrorMessage())")
        }
        url = URL(fileURLWithPath: String(cString: template), isDirectory: true)
    }

    func appendingPathComponent(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `text` into a new file of this directory, mode 0600.
    func writeFile(named name: String, _ text: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw WarehouseError.io("cannot create \(path): \(systemErrorMessage())") }
        defer { close(descriptor) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw WarehouseError.io("writing \(path) failed: \(systemErrorMessage())")
            }
            offset += written
        }
        return path
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where an export's bytes go, decided once from the `--output` path.
///
/// A regular file (existing or not) is written atomically beside its manifest. Character devices
/// (`/dev/null`, a terminal), FIFOs and the standard streams are written in place: they are
/// never replaced by a file, and no manifest is written beside them.
public enum OutputTarget: Equatable, Sendable {
    /// An already open descriptor: `-` and `/dev/stdout` (1), `/dev/stderr` (2), `/dev/fd/N` and
    /// `/proc/self/fd/N` (N).
    case descriptor(Int32, name: String)
    /// An existing character device or FIFO, opened for writing without creating or truncating.
    case stream(String)
    /// A regular file: written under a temporary name and renamed into place, manifest beside it.
    case file(String)

    /// The longest file name most file systems take (`NAME_MAX`).
    static let maximumNameBytes = 255
    static let manifestSuffix = ".manifest.json"

    /// Classifies `path`. Throws for what an export cannot write to (a directory, a block device,
    /// a socket) and for a file name too long to leave room for its manifest's.
    public init(path: String) throws {
        if path == "-" {
            self = .descriptor(1, name: "standard output")
            return
        }
        if let descriptor = Self.standardStreamDescriptor(path) {
            self = .descriptor(descriptor, name: path)
            return
        }
        var status = stat()
        if stat(path, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFCHR, S_IFIFO:
                self = .stream(path)
                return
            case S_IFREG:
                break
            case S_IFDIR:
                throw WarehouseError.invalidParameter("--output \(path) is a directory (write all exports into a directory with --all --output-dir)")
            default:
                throw WarehouseError.invalidParameter("--output \(path) is neither a regular file, a character device nor a FIFO")
            }
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let limit = Self.maximumNameBytes - Self.manifestSuffix.utf8.count
        if name.utf8.count > limit {
            throw WarehouseError.invalidParameter(
                "the output file name is \(name.utf8.count) bytes long; its manifest (\(Self.manifestSuffix) appended) must fit in \(Self.maximumNameBytes) bytes, so use at most \(limit)")
        }
        self = .file(path)
    }

    /// The descriptor a standard-stream path names, or nil.
    public static func standardStreamDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default: break
        }
        for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
            let number = path.dropFirst(prefix.count)
            if !number.isEmpty, number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber), let descriptor = Int32(number) {
                return descriptor
            }
        }
        return nil
    }

    /// Whether a manifest is written beside the output.
    public var hasManifest: Bool {
        if case .file = self { return true }
        return false
    }
}

import Crypto
import Foundation
import InboxWarehouseSQL

/// The SQL that ships with the tool: numbered migrations, the facts layer, the export views and
/// their header files (`sql/` in the repository).
///
/// The binary carries all of it (`embedded`, compiled in by EmbedSQLPlugin), so a copy of the
/// executable alone is a complete install; `INBOX_WAREHOUSE_SQL_DIR` points at a folder to use
/// instead (for development), and `inbox-warehouse sql dump DIR` writes the files out for psql
/// users.
public struct SQLResources: Sendable {
    /// Where the files came from.
    public enum Origin: Sendable, Equatable, CustomStringConvertible {
        case embedded
        case directory(URL)

        public var description: String {
            switch self {
            case .embedded: return "the SQL compiled into inbox-warehouse"
            case .directory(let url): return url.path
            }
        }
    }

    public let origin: Origin
    /// Every file, by path relative to sql/ (`exports/shared/01_parameters.sql`), in path order.
    public let files: [(path: String, contents: String)]

    init(origin: Origin, files: [(path: String, contents: String)]) {
        self.origin = origin
        self.files = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// The SQL compiled into the binary.
    public static let embedded = SQLResources(origin: .embedded, files: SQLFiles.all)

    /// Reads a folder laid out as sql/: every `.sql` and `.tsv` file below it, as EmbedSQL does.
    public init(directory: URL) throws {
        let root = directory.standardizedFileURL
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("migrations").path),
              let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw WarehouseError.configuration("\(root.path) is not an inbox-warehouse sql/ folder (it has no migrations/)")
        }
        var files: [(String, String)] = []
        for case let url as URL in walker {
            let name = url.lastPathComponent
            guard !name.hasPrefix("."), name.hasSuffix(".sql") || name.hasSuffix(".tsv"),
                  (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            do {
                files.append((path, try String(contentsOf: url, encoding: .utf8)))
            } catch {
                throw WarehouseError.configuration("cannot read \(url.path): it must be UTF-8 text")
            }
        }
        self.init(origin: .directory(root), files: files)
    }

    /// `INBOX_WAREHOUSE_SQL_DIR` when set, else the SQL compiled into the binary.
    public static func bundled(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SQLResources {
        if let path = environment["INBOX_WAREHOUSE_SQL_DIR"], !path.isEmpty {
            do {
                return try SQLResources(directory: URL(fileURLWithPath: path, isDirectory: true))
            } catch let error as WarehouseError {
                throw WarehouseError.configuration("INBOX_WAREHOUSE_SQL_DIR: \(error)")
            }
        }
        return embedded
    }

    /// The files directly in `folder` (no subfolders) whose name ends in `suffix`, in name order.
    func files(in folder: String, endingIn suffix: String) -> [(name: String, contents: String)] {
        files.compactMap { file in
            guard file.path.hasPrefix(folder + "/"), file.path.hasSuffix(suffix) else { return nil }
            let name = String(file.path.dropFirst(folder.count + 1))
            return name.contains("/") ? nil : (name, file.contents)
        }
    }

    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
        public var checksum: String { sha256Hex(Data(sql.utf8)) }
    }

    /// `migrations/NNNN_name.sql`, in version order.
    public func migrations() throws -> [Migration] {
        try files(in: "migrations", endingIn: ".sql").map { file in
            guard let underscore = file.name.firstIndex(of: "_"), let version = Int(file.name[..<underscore]) else {
                throw WarehouseError.schema("migration file \(file.name) is not named NNNN_name.sql")
            }
            return Migration(version: version, name: String(file.name.dropLast(4)), sql: file.contents)
        }
    }

    /// The facts layer (schema `facts`): `facts/*.sql`, in lexical order.
    public func factScripts() -> [(name: String, sql: String)] {
        files(in: "facts", endingIn: ".sql").map { ($0.name, $0.contents) }
    }

    /// The export objects, in the order they are created: `exports/shared/*.sql`, then
    /// `exports/*.sql`, each folder in lexical order (names as `shared/x.sql` and `x.sql`).
    public func exportScripts() -> [(name: String, sql: String)] {
        files(in: "exports/shared", endingIn: ".sql").map { ("shared/" + $0.name, $0.contents) }
            + files(in: "exports", endingIn: ".sql").map { ($0.name, $0.contents) }
    }

    /// The export catalogue: every `exports/<view>.headers.tsv`, in catalogue position order.
    public func exportCatalog() throws -> [ExportType] {
        let types = try files(in: "exports", endingIn: ".headers.tsv").map { file in
            try ExportType(headersFile: file.contents, view: String(file.name.dropLast(".headers.tsv".count)),
                           source: "sql/exports/\(file.name)")
        }.sorted { $0.position < $1.position }
        for (index, type) in types.enumerated() where index > 0 {
            let previous = types[index - 1]
            if previous.position == type.position || previous.slug == type.slug {
                throw WarehouseError.schema("sql/exports: \(previous.view) and \(type.view) share a position or a slug")
            }
        }
        return types
    }

    /// Writes every file below `directory` (created as needed), as sql/ lays them out.
    /// Returns the paths written.
    @discardableResult
    public func dump(to directory: URL) throws -> [String] {
        try makeDirectory(atPath: directory.path, what: "the dump folder")
        var written: [String] = []
        for file in files {
            let url = directory.appendingPathComponent(file.path)
            try makeDirectory(atPath: url.deletingLastPathComponent().path, what: "the dump folder")
            do {
                try Data(file.contents.utf8).write(to: url, options: .atomic)
            } catch {
                throw WarehouseError.io("cannot write \(url.path)")
            }
            written.append(url.path)
        }
        return written
    }
}

func sha256Hex(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

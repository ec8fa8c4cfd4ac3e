import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

/// The export catalogue and headers live beside the views (`sql/exports/<view>.headers.tsv`),
/// and the SQL is compiled into the binary: these tests keep the two in step with the views and
/// show that the executable runs alone.
@Suite("Export catalogue, header files and the single binary")
struct ExportCatalogTests {
    /// For each export, what differs between its view's columns and its header file's: nothing
    /// when the names match in number and order.
    static func mismatches(_ connection: Connection, _ catalog: [ExportType]) throws -> [String] {
        var problems: [String] = []
        for type in catalog {
            let result = try connection.execute("""
                select a.attname from pg_attribute a
                where a.attrelid = ('export.' || quote_ident($1))::regclass and a.attnum > 0 and not a.attisdropped
                order by a.attnum
                """, binds: [type.view])
            let viewColumns = (0..<result.rowCount).map { result.value($0, 0) ?? "" }
            let fileColumns = type.columns.map(\.name)
            if viewColumns != fileColumns {
                let first = zip(viewColumns, fileColumns).enumerated().first { $0.element.0 != $0.element.1 }
                problems.append("\(type.view): the view has \(viewColumns.count) columns, the header file \(fileColumns.count)"
                    + (first.map { "; column \($0.offset + 1) is \($0.element.0) in the view, \($0.element.1) in the file" } ?? ""))
            }
        }
        return problems
    }

    @Test("every view's columns are its header file's, in number, names and order; views and columns are described")
    func viewsMatchHeaderFiles() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let catalog = try TestSupport.sqlResources().exportCatalog()
        #expect(catalog.count == 12)
        #expect(try Self.mismatches(connection, catalog) == [])
        for type in catalog {
            let comments = try connection.execute("""
                select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a
                where a.attrelid = ('export.' || quote_ident($1))::regclass and a.attnum > 0 and not a.attisdropped
                """, binds: [type.view])
            for row in 0..<comments.rowCount {
                #expect(comments.value(row, 1)?.isEmpty == false, "\(type.view).\(comments.value(row, 0) ?? "?") has no comment")
            }
            let viewComment = try connection.execute("select obj_description(('export.' || quote_ident($1))::regclass, 'pg_class')",
                                                     binds: [type.view]).scalar
            #expect(viewComment?.isEmpty == false, "\(type.view) has no comment")
        }
    }

    @Test("the check fails when a header file and its view disagree in number or order")
    func checkCatchesDisagreement() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let resources = try TestSupport.sqlResources()
        let teams = try #require(resources.files.first { $0.path == "exports/teams.headers.tsv" })
        var lines = teams.contents.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let first = try #require(lines.firstIndex { $0.hasPrefix("created_at\t") })
        // Two columns swapped: same number, wrong order.
        lines.swapAt(first, first + 1)
        let swapped = try ExportType(headersFile: lines.joined(separator: "\n"), view: "teams", source: "swapped")
        #expect(try Self.mismatches(connection, [swapped]) == ["teams: the view has 20 columns, the header file 20; column 1 is created_at in the view, team_id in the file"])
        // One column added: a new view column without its header, or the reverse.
        lines.swapAt(first, first + 1)
        lines.insert("extra_column\tExtra\tEn plus", at: lines.count - 1)
        let longer = try ExportType(headersFile: lines.joined(separator: "\n"), view: "teams", source: "longer")
        #expect(try Self.mismatches(connection, [longer]).first?.hasPrefix("teams: the view has 20 columns, the header file 21") == true)
    }

    @Test("catalogue fields come from the header files: positions, slugs, titles, which range is optional")
    func catalogueFields() throws {
        let catalog = ExportType.all
        #expect(catalog.map(\.slug) == [
            "resolved-conversations", "open-conversations", "messages", "teams", "contacts", "topics", "tags",
            "agent-availability", "agent-metrics", "responses", "virtual-agents", "contact-attributes",
        ])
        #expect(catalog.map(\.position) == Array(1...12))
        #expect(catalog.filter(\.isRangeOptional).map(\.slug) == ["open-conversations"])
        #expect(catalog.map { $0.columns.count } == [39, 32, 29, 20, 9, 8, 9, 8, 22, 16, 12, 7])
        #expect(ExportType.named("teams")?.title == "Teams")
        #expect(ExportType.named("teams")?.headers(locale: .fr).first == "Créé à")
        // A malformed file is a clear error, not a silent gap.
        #expect(throws: WarehouseError.self) {
            try ExportType(headersFile: "slug\tx\nposition\t1\nrange\tsometimes\ncolumn\ten\tfr\na\tA\tA\n", view: "x", source: "bad")
        }
    }

    @Test("the SQL compiled into the binary is the repository's sql/ folder, file for file")
    func embeddedSQLIsCurrent() throws {
        let onDisk = try TestSupport.sqlResources().files
        let embedded = SQLResources.embedded.files
        #expect(embedded.map(\.path) == onDisk.map(\.path))
        for (compiled, file) in zip(embedded, onDisk) {
            #expect(compiled.contents == file.contents, "\(file.path) changed since the build: rebuild")
        }
        #expect(try SQLResources.embedded.exportCatalog() == (try TestSupport.sqlResources().exportCatalog()))
    }

    @Test("the binary alone, copied into an empty folder, runs the demo; `sql dump` writes the repository's files")
    func singleBinary() throws {
        let folder = try TestSupport.temporaryDirectory()
        let binary = folder.appendingPathComponent("inbox-warehouse")
        try FileManager.default.copyItem(at: TestSupport.executable, to: binary)
        // An empty database of its own: the demo migrates it from the SQL the binary carries.
        let admin = try Connection(conninfo: try TestServer.shared.administrationURL())
        defer { admin.close() }
        let name = "iw_single_binary_\(TestServer.shared.runID)"
        try admin.execute("drop database if exists \(try admin.escapeIdentifier(name))")
        try admin.execute("create database \(try admin.escapeIdentifier(name))")
        var components = try #require(URLComponents(string: try TestServer.shared.administrationURL()))
        components.path = "/" + name
        let url = try #require(components.string)

        let demo = try Self.run(binary, ["demo", "--database-url", url, "--conversations", "150", "--output-dir", "out"], in: folder)
        #expect(demo.status == 0, "\(demo.standardError)")
        let written = directoryListing(folder.appendingPathComponent("out")).filter { $0.hasSuffix(".csv") }
        #expect(written == ExportType.all.map { "\($0.slug).csv" }.sorted())

        let dump = try Self.run(binary, ["sql", "dump", "dumped"], in: folder)
        #expect(dump.status == 0, "\(dump.standardError)")
        let dumped = try SQLResources(directory: folder.appendingPathComponent("dumped"))
        let repository = try TestSupport.sqlResources()
        #expect(dumped.files.map(\.path) == repository.files.map(\.path))
        #expect(zip(dumped.files, repository.files).allSatisfy { $0.contents == $1.contents })
        #expect(directoryListing(folder).sorted() == ["dumped", "inbox-warehouse", "out"])
    }

    /// Runs `binary` in `directory` with no INBOX_WAREHOUSE_SQL_DIR and no DATABASE_URL.
    static func run(_ binary: URL, _ arguments: [String], in directory: URL) throws -> TestSupport.CommandResult {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        for key in ["INBOX_WAREHOUSE_SQL_DIR", "DATABASE_URL"] { environment.removeValue(forKey: key) }
        environment["INBOX_WAREHOUSE_HOME"] = directory.appendingPathComponent(".unused-home").path
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return TestSupport.CommandResult(status: process.terminationStatus, standardOutput: String(decoding: out, as: UTF8.self),
                                         standardError: String(decoding: err, as: UTF8.self))
    }
}

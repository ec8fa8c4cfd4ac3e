import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// A throwaway Chatwoot database on the test server: Chatwoot's tables as its db/schema.rb defines
/// them (Fixtures/chatwoot/schema.sql) holding the hand-made account (account.sql).
struct ChatwootSource {
    let url: String
    let connection: Connection

    static func make(data: Bool = true) throws -> ChatwootSource {
        let admin = try TestServer.shared.administrationURL()
        let name = "cw_source_\(TestServer.shared.runID)_\(UUID().uuidString.prefix(8).lowercased())"
        let maintenance = try Connection(conninfo: admin)
        try maintenance.execute("create database \(try maintenance.escapeIdentifier(name))")
        maintenance.close()
        let url = try Self.url(admin: admin, database: name)
        let connection = try Connection(conninfo: url)
        try connection.executeScript(try String(contentsOf: TestSupport.fixture("chatwoot/schema.sql"), encoding: .utf8))
        if data { try connection.executeScript(try String(contentsOf: TestSupport.fixture("chatwoot/account.sql"), encoding: .utf8)) }
        return ChatwootSource(url: url, connection: connection)
    }

    static func url(admin: String, database: String) throws -> String {
        if admin.hasPrefix("postgres://") || admin.hasPrefix("postgresql://") {
            var components = try #require(URLComponents(string: admin))
            components.path = "/" + database
            return try #require(components.string)
        }
        return admin + " dbname=" + database
    }

    func apply(_ fixture: String) throws {
        try connection.executeScript(try String(contentsOf: TestSupport.fixture("chatwoot/\(fixture)"), encoding: .utf8))
    }
}

/// The export requests of the fixture's hand derivation (DERIVATION.md): the two days of the
/// account in UTC, read the next midnight.
enum ChatwootFixture {
    static let chatwootURL = "https://chat.acme.test"

    static func request(_ type: ExportType, asOf: String = "2026-03-04T00:00:00Z", to: String = "2026-03-03") -> ExportRequest {
        var request = ExportRequest(type: type)
        request.from = RangeBound("2026-03-02")
        request.to = RangeBound(to)
        request.timeZone = "UTC"
        request.asOf = asOf
        return request
    }

    static func importAccount(from source: ChatwootSource, into warehouse: Connection,
                              mode: ChatwootImportOptions.Mode = .incremental) throws -> ChatwootImportSummary {
        let options = ChatwootImportOptions(accountID: 1, mode: mode, chatwootURL: chatwootURL)
        return try ChatwootImporter(sourceConninfo: source.url, warehouse: warehouse, options: options).run()
    }

    /// Every export of the fixture request, as text.
    static func exports(_ connection: Connection, asOf: String = "2026-03-04T00:00:00Z", to: String = "2026-03-03") throws -> [String: String] {
        var outputs: [String: String] = [:]
        let directory = try TestSupport.temporaryDirectory()
        for type in ExportType.all {
            let path = directory.appendingPathComponent("\(type.slug).csv").path
            try Exporter(connection: connection, schemaVersion: 1).export(request(type, asOf: asOf, to: to), to: path)
            outputs[type.slug] = try String(contentsOfFile: path, encoding: .utf8)
        }
        return outputs
    }
}

@Suite("Chatwoot import")
struct ChatwootImportTests {
    @Test("the hand-made account imports into exactly the exports derived by hand (Fixtures/chatwoot/DERIVATION.md)")
    func handDerivedExports() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        let summary = try ChatwootFixture.importAccount(from: source, into: warehouse)
        #expect(summary.load.rejected == 0)
        #expect(summary.mode == "full (first import)")
        #expect(summary.counters.privateNotes == 2)
        let outputs = try ChatwootFixture.exports(warehouse)
        for type in ExportType.all {
            let expected = try String(contentsOf: TestSupport.fixture("chatwoot/expected/\(type.slug).csv"), encoding: .utf8)
            #expect(outputs[type.slug] == expected, "\(type.slug) differs from its hand-derived CSV")
        }
    }
}

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

    static func parameters(asOf: String = "2026-03-04T00:00:00Z", to: String = "2026-03-03") -> ExportParameters {
        ExportParameters(from: RangeBound("2026-03-02"), to: RangeBound(to), timeZone: "UTC", asOf: Instant(asOf))
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
            try Exporter(connection: connection, schemaVersion: 1).export(type, parameters(asOf: asOf, to: to), to: path)
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

@Suite("Chatwoot import: incremental runs, idempotence, schema versions, rejects")
struct ChatwootIncrementalTests {
    @Test("after changes in the source, an incremental import gives what a full import of the changed source gives")
    func incrementalEqualsFull() throws {
        let source = try ChatwootSource.make()
        let (incremental, _) = try TestSupport.freshDatabase()
        _ = try ChatwootFixture.importAccount(from: source, into: incremental)
        try source.apply("changes.sql")
        let second = try ChatwootFixture.importAccount(from: source, into: incremental)
        #expect(second.mode == "incremental")
        // Only the conversations the changes touched are read again (12, 13 and the new 15), and
        // 11, whose CSAT response is the latest row of its table and so within the ten-minute
        // overlap of that table's mark.
        #expect(second.counters.conversations == 4)
        #expect(second.load.rejected == 0)

        let (full, _) = try TestSupport.freshDatabase()
        let fresh = try ChatwootFixture.importAccount(from: source, into: full, mode: .full)
        #expect(fresh.mode == "full")
        #expect(fresh.counters.conversations == 4)
        #expect(try TestSupport.tableContents(incremental) == TestSupport.tableContents(full))
        let asOf = "2026-03-04T00:00:00Z"
        #expect(try ChatwootFixture.exports(incremental, asOf: asOf) == ChatwootFixture.exports(full, asOf: asOf))

        // What the changes say (DERIVATION.md, "After the changes").
        let resolution = try incremental.execute("""
            select status, agent_id, resolved_by, resolve_trigger, changed_at = '2026-03-03T12:05:00Z'
            from inbox.status_changes where conversation_id = 'cw:1:conversation:13'
            """)
        #expect(resolution.rows == [["RESOLVED", "cw:1:user:1", "AGENT", "HUMAN_AGENT", "t"]])
        let vip = try incremental.execute("""
            select removed_at = '2026-03-03T12:10:00Z', agent_id from inbox.topic_applications
            where topic_application_id = 'cw:1:message:204:label:vip'
            """)
        #expect(vip.rows == [["t", "cw:1:user:2"]])
        #expect(try incremental.execute("""
            select value from inbox.contact_attributes
            where contact_id = 'cw:1:contact:2' and attribute_id = 'cw:1:custom_attribute:plan'
            """).scalar == "gold")
    }

    @Test("importing twice changes nothing, incrementally or in full")
    func importingTwiceChangesNothing() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        _ = try ChatwootFixture.importAccount(from: source, into: warehouse)
        let first = try TestSupport.tableContents(warehouse)
        let again = try ChatwootFixture.importAccount(from: source, into: warehouse)
        #expect(again.mode == "incremental")
        #expect(again.load.rejected == 0)
        #expect(try TestSupport.tableContents(warehouse) == first)
        let full = try ChatwootFixture.importAccount(from: source, into: warehouse, mode: .full)
        #expect(full.counters.conversations == 3)
        #expect(try TestSupport.tableContents(warehouse) == first)
        let marks = try warehouse.execute("""
            select source_table, max_updated_at = '2026-03-03T11:05:00Z', max_id from warehouse.import_marks
            where source_kind = 'chatwoot' and source_name = 'cw' and account_id = 1 order by source_table
            """)
        #expect(marks.rows.map { $0[0] } == [
            "contacts", "conversations", "csat_survey_responses", "messages", "reporting_events", "taggings"])
        #expect(marks.rows.first { $0[0] == "conversations" }?[1] == "t")
        #expect(marks.rows.first { $0[0] == "taggings" }?[2] == "3")
    }

    @Test("--since reads a window and leaves the marks alone; a bad instant is a clear error")
    func sinceWindow() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        let window = try ChatwootFixture.importAccount(from: source, into: warehouse, mode: .since("2026-03-03T10:00:00Z"))
        #expect(window.mode == "since 2026-03-03T10:00:00Z")
        #expect(window.counters.conversations == 1)
        #expect(window.marks.isEmpty)
        #expect(try warehouse.execute("select count(*) from warehouse.import_marks").scalar == "0")
        #expect(try warehouse.execute("select string_agg(conversation_id, ',') from inbox.conversations").scalar
                == "cw:1:conversation:13")
        #expect(try ChatwootFixture.importAccount(from: source, into: warehouse).mode == "full (first import)")
        #expect(throws: WarehouseError.self) {
            try ChatwootFixture.importAccount(from: source, into: warehouse, mode: .since("last tuesday"))
        }
    }

    @Test("a source without optional columns and tables uses the documented fallbacks")
    func optionalColumnsFallBack() throws {
        let source = try ChatwootSource.make()
        try source.connection.executeScript("""
            alter table reporting_events drop column event_end_time, drop column event_start_time;
            alter table account_users drop column availability;
            drop table working_hours, custom_attribute_definitions, agent_bot_inboxes, channel_whatsapp;
            """)
        let (warehouse, _) = try TestSupport.freshDatabase()
        let summary = try ChatwootFixture.importAccount(from: source, into: warehouse)
        #expect(summary.load.rejected == 0)
        let outputs = try ChatwootFixture.exports(warehouse)
        // Reporting events fall back to created_at (the same instants in the fixture): resolutions
        // and hand-offs are unchanged.
        let resolved = try String(contentsOf: TestSupport.fixture("chatwoot/expected/resolved-conversations.csv"), encoding: .utf8)
        #expect(outputs["resolved-conversations"] == resolved.replacingOccurrences(of: "+33100000000", with: "WhatsApp Support"))
        let responses = try String(contentsOf: TestSupport.fixture("chatwoot/expected/responses.csv"), encoding: .utf8)
        #expect(outputs["responses"] == responses.replacingOccurrences(of: "+33100000000", with: "WhatsApp Support"))
        // Without definitions, an attribute is named by its key and typed by its JSON value.
        #expect(outputs["contact-attributes"] == """
            Contact Profile ID,Contact Primary Identifier,Contact Secondary Identifier,Attribute ID,Attribute Name,Attribute Value,Attribute Type
            cw:1:contact:1,jean@example.test,Jean Dupont,cw:1:custom_attribute:plan,plan,gold,TEXT
            cw:1:contact:1,jean@example.test,Jean Dupont,cw:1:custom_attribute:signup_date,signup_date,2025-01-15,TEXT
            cw:1:contact:1,jean@example.test,Jean Dupont,cw:1:custom_attribute:vip,vip,true,BOOLEAN
            cw:1:contact:2,+33611111111,Maria Rossi,cw:1:custom_attribute:plan,plan,silver,TEXT

            """)
        #expect(try warehouse.execute("select count(*) from inbox.channels where extra ? 'business_hours'").scalar == "0")
    }

    @Test("a source without a column the import needs, or without Chatwoot, or without the account, is a clear error")
    func requiredColumnsMissing() throws {
        let source = try ChatwootSource.make()
        try source.connection.execute("alter table messages drop column sender_type")
        let (warehouse, _) = try TestSupport.freshDatabase()
        let error = try #require(throws: WarehouseError.self) { try ChatwootFixture.importAccount(from: source, into: warehouse) }
        #expect(error.description.contains("messages.sender_type"))
        #expect(try warehouse.execute("select count(*) from inbox.conversations").scalar == "0")

        let empty = try ChatwootSource.make(data: false)
        try empty.connection.executeScript("drop table messages cascade; drop table conversations cascade;")
        let notChatwoot = try #require(throws: WarehouseError.self) { try ChatwootFixture.importAccount(from: empty, into: warehouse) }
        #expect(notChatwoot.description.contains("no Chatwoot tables"))

        let other = try ChatwootSource.make()
        let options = ChatwootImportOptions(accountID: 99)
        let noAccount = try #require(throws: WarehouseError.self) {
            try ChatwootImporter(sourceConninfo: other.url, warehouse: warehouse, options: options).run()
        }
        #expect(noAccount == .invalidParameter("the Chatwoot source has no account 99"))
    }

    @Test("a row the contract refuses is rejected by the loader with its source table and id; the rest loads")
    func rejectsNameTheSourceRow() throws {
        let source = try ChatwootSource.make()
        // Chatwoot's model allows ratings 1 to 5, its table does not check: a 9 is a bad score.
        try source.connection.execute("update csat_survey_responses set rating = 9 where id = 1")
        let (warehouse, _) = try TestSupport.freshDatabase()
        let rejectsPath = try TestSupport.temporaryDirectory().appendingPathComponent("rejects.ndjson").path
        let options = ChatwootImportOptions(accountID: 1, chatwootURL: ChatwootFixture.chatwootURL, rejectsPath: rejectsPath)
        let summary = try ChatwootImporter(sourceConninfo: source.url, warehouse: warehouse, options: options).run()
        #expect(summary.load.rejected == 1)
        // The --rejects file holds it too (once, though the import loads eight streams).
        let lines = try String(contentsOfFile: rejectsPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix(#"{"source":"chatwoot:cw/accounts/1/conversations","line":"#) == true)
        #expect(summary.load.rejectedByKind == ["csat": 1])
        let reject = try warehouse.execute("select source, raw, reason from warehouse.load_rejects")
        #expect(reject.rowCount == 1)
        #expect(reject.value(0, 0) == "chatwoot:cw/accounts/1/conversations")
        #expect(reject.value(0, 1)?.contains("\"chatwoot_row\":\"csat_survey_responses/1\"") == true)
        #expect(try warehouse.execute("select count(*) from inbox.conversations").scalar == "3")
        #expect(try warehouse.execute("select count(*) from inbox.csat_surveys").scalar == "0")
    }

    @Test("the import needs nothing but SELECT on the source")
    func readOnlySource() throws {
        let source = try ChatwootSource.make()
        let role = "cw_reader_\(UUID().uuidString.prefix(8).lowercased())"
        let quoted = try source.connection.escapeIdentifier(role)
        try source.connection.executeScript("""
            create role \(quoted) login;
            grant select on all tables in schema public to \(quoted);
            """)
        defer { _ = try? source.connection.executeScript("drop owned by \(quoted); drop role \(quoted);") }
        var components = try #require(URLComponents(string: source.url))
        components.user = role
        let readerURL = try #require(components.string)
        let before = try source.connection.execute("select count(*), max(updated_at)::text from messages").rows
        let (warehouse, _) = try TestSupport.freshDatabase()
        let options = ChatwootImportOptions(accountID: 1, chatwootURL: ChatwootFixture.chatwootURL)
        let summary = try ChatwootImporter(sourceConninfo: readerURL, warehouse: warehouse, options: options).run()
        #expect(summary.load.rejected == 0)
        #expect(summary.counters.conversations == 3)
        #expect(try source.connection.execute("select count(*), max(updated_at)::text from messages").rows == before)
    }
}

@Suite("Chatwoot import: command line")
struct ChatwootCommandLineTests {
    @Test("import chatwoot loads the account, reports JSON, never prints the source's password, and refuses bad arguments")
    func importCommand() throws {
        let source = try ChatwootSource.make()
        let (_, warehouseURL) = try TestSupport.freshDatabase()
        // The test server trusts local connections, so a password in the URL is accepted and unused.
        var components = try #require(URLComponents(string: source.url))
        components.password = "s3cret-pw"
        let sourceURL = try #require(components.string)
        let arguments = ["import", "chatwoot", "--source-url", sourceURL, "--account-id", "1", "--database-url", warehouseURL,
                         "--chatwoot-url", ChatwootFixture.chatwootURL]
        let first = try TestSupport.runCLI(arguments)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardError.contains("mode: full (first import)"))
        #expect(first.standardError.contains("2 private notes"))
        #expect(!first.standardError.contains("s3cret-pw") && !first.standardOutput.contains("s3cret-pw"))

        let second = try TestSupport.runCLI(arguments + ["--json"])
        #expect(second.status == 0, "\(second.standardError)")
        #expect(!second.standardError.contains("s3cret-pw") && !second.standardOutput.contains("s3cret-pw"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(second.standardOutput.utf8)) as? [String: Any])
        #expect(object["mode"] as? String == "incremental")
        #expect(object["rejected"] as? Int == 0)
        #expect((object["streams"] as? [Any])?.count == 8)

        let wrongPassword = try TestSupport.runCLI(["import", "chatwoot", "--source-url", sourceURL + "&port=1", "--account-id", "1",
                                                    "--database-url", warehouseURL])
        #expect(wrongPassword.status == 1)
        #expect(!wrongPassword.standardError.contains("s3cret-pw"))

        let both = try TestSupport.runCLI(["import", "chatwoot", "--source-url", sourceURL, "--account-id", "1", "--full",
                                           "--since", "2026-03-01T00:00:00Z", "--database-url", warehouseURL])
        #expect(both.status == 64)
        let badName = try TestSupport.runCLI(["import", "chatwoot", "--source-url", sourceURL, "--account-id", "1",
                                              "--source-name", "a:b", "--database-url", warehouseURL])
        #expect(badName.status == 64)
    }
}

extension ChatwootCommandLineTests {
    @Test("a --rejects file that load or import chatwoot creates is 0600; an existing one keeps its mode")
    func rejectsFileIsPrivate() throws {
        func mode(_ path: String) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        let directory = try TestSupport.temporaryDirectory()
        let (_, warehouseURL) = try TestSupport.freshDatabase()
        let log = try TestSupport.writeLog([#"{"type":"channel","id":"ch-1","medium":"SMS","name":"+100"}"#, #"{"type":"bogus"}"#])
        let loadRejects = directory.appendingPathComponent("load-rejects.ndjson").path
        let load = try TestSupport.runCLI(["load", "--rejects", loadRejects, "--database-url", warehouseURL, log])
        #expect(load.status == 2, "\(load.standardError)")
        #expect(try String(contentsOfFile: loadRejects, encoding: .utf8).contains("bogus"))
        #expect(try mode(loadRejects) == 0o600)

        let source = try ChatwootSource.make()
        try source.connection.execute("update csat_survey_responses set rating = 9 where id = 1")
        let importRejects = directory.appendingPathComponent("import-rejects.ndjson").path
        let imported = try TestSupport.runCLI(["import", "chatwoot", "--source-url", source.url, "--account-id", "1",
                                               "--rejects", importRejects, "--database-url", warehouseURL])
        #expect(imported.status == 2, "\(imported.standardError)")
        #expect(try String(contentsOfFile: importRejects, encoding: .utf8).contains("csat_survey_responses/1"))
        #expect(try mode(importRejects) == 0o600)

        // An existing file is written in place: whoever created it chose its mode.
        let existing = directory.appendingPathComponent("existing.ndjson").path
        #expect(FileManager.default.createFile(atPath: existing, contents: Data("old\n".utf8), attributes: [.posixPermissions: 0o640]))
        let again = try TestSupport.runCLI(["load", "--rejects", existing, "--database-url", warehouseURL, log])
        #expect(again.status == 2)
        #expect(try mode(existing) == 0o640)
        #expect(try !String(contentsOfFile: existing, encoding: .utf8).contains("old"))
    }
}

@Suite("Chatwoot import: reading the source")
struct ChatwootSourceReadingTests {
    @Test("COPY text rows decode NULLs, escapes and UTF-8")
    func copyTextRows() {
        let row = Array("12\t\\N\ta\\tb\\nc\\\\d é\t\\\\N\t\t\\101\\x42\n".utf8)
        let fields = row.withUnsafeBytes { CopyTextRow.decode($0) }
        #expect(fields == ["12", nil, "a\tb\nc\\d é", "\\N", "", "AB"])
    }

    @Test("activity messages are read in Chatwoot's English texts")
    func activityTexts() {
        #expect(ChatwootActivity.parse("Conversation was marked resolved by Alice Martin") == .resolvedByUser("Alice Martin"))
        #expect(ChatwootActivity.parse("Conversation was marked resolved by Automation System") == .resolvedByUser("Automation System"))
        #expect(ChatwootActivity.parse("Conversation was marked resolved by system due to 2 days of inactivity") == .autoResolved)
        #expect(ChatwootActivity.parse("Conversation was resolved by Jean") == .resolvedByContact)
        #expect(ChatwootActivity.parse("Conversation was reopened by Bob Stone") == .reopened(user: "Bob Stone"))
        #expect(ChatwootActivity.parse("System reopened the conversation due to a new incoming message.") == .reopened(user: nil))
        #expect(ChatwootActivity.parse("Conversation was marked as pending by Bob Stone") == .pending(user: "Bob Stone"))
        #expect(ChatwootActivity.parse("Conversation was snoozed by Bob Stone") == .pending(user: "Bob Stone"))
        #expect(ChatwootActivity.parse("Conversation was marked open by system due to an error with the agent bot.") == .botErrorOpened)
        #expect(ChatwootActivity.parse("Bob Stone added urgent, vip") == .labels(user: "Bob Stone", isAdded: true, titles: ["urgent", "vip"]))
        #expect(ChatwootActivity.parse("Automation System removed spam") == .labels(user: "Automation System", isAdded: false, titles: ["spam"]))
        #expect(ChatwootActivity.parse("Alice added SLA policy Gold") == nil)
        #expect(ChatwootActivity.parse("Alice removed the priority") == nil)
        #expect(ChatwootActivity.parse("Assigned to Bob Stone by Alice Martin") == nil)
        #expect(ChatwootActivity.parse("La conversation a été résolue par Alice") == nil)
    }

    @Test("message contents with tabs, newlines, backslashes and quotes arrive intact")
    func contentsRoundTrip() throws {
        let source = try ChatwootSource.make()
        let content = "ligne 1\n\tligne 2 \\ \"citée\" é ✓"
        try source.connection.execute("update messages set content = $1 where id = 101", [content])
        let (warehouse, _) = try TestSupport.freshDatabase()
        _ = try ChatwootFixture.importAccount(from: source, into: warehouse)
        #expect(try warehouse.execute("select content from inbox.messages where message_id = 'cw:1:message:101'").scalar == content)
    }

    @Test("a loader failure stops the source's stream instead of leaving it blocked")
    func loaderFailureStopsTheProducer() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        // The loader cannot create its rejects file, so it fails before reading the first stream.
        let options = ChatwootImportOptions(accountID: 1, rejectsPath: "/nonexistent-\(UUID().uuidString)/rejects.ndjson")
        #expect(throws: WarehouseError.self) {
            try ChatwootImporter(sourceConninfo: source.url, warehouse: warehouse, options: options).run()
        }
        #expect(try warehouse.execute("select count(*) from warehouse.import_marks").scalar == "0")
        // The warehouse connection is usable again, and a later import works.
        let summary = try ChatwootFixture.importAccount(from: source, into: warehouse)
        #expect(summary.counters.conversations == 3)
    }

    @Test("a source failing in the middle of a stream fails the import, marks that load failed and stores no marks")
    func sourceFailsMidStream() throws {
        let source = try ChatwootSource.make()
        // The labels stream reads tag names through this view, which raises after its first row.
        try source.connection.executeScript("""
            alter table tags rename to tags_table;
            create function fail_on_legacy(name text) returns text language plpgsql as $$
            begin
                if name = 'legacy' then raise exception 'source failure for the test'; end if;
                return name;
            end $$;
            create view tags as select id, fail_on_legacy(name)::character varying as name, taggings_count from tags_table;
            """)
        let (warehouse, _) = try TestSupport.freshDatabase()
        let error = try #require(throws: PostgresError.self) { try ChatwootFixture.importAccount(from: source, into: warehouse) }
        #expect(error.sqlState == SQLState("P0001"))
        let ledger = try warehouse.execute("select source, status from warehouse.loads order by load_id")
        #expect(ledger.rows.last == ["chatwoot:cw/accounts/1/labels", "failed"])
        #expect(ledger.rows.dropLast().allSatisfy { $0[1] == "succeeded" })
        #expect(try warehouse.execute("select count(*) from warehouse.import_marks").scalar == "0")
        #expect(try warehouse.execute("select count(*) from inbox.conversations").scalar == "0")
    }
}

import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

/// Schedules that import a saved Chatwoot source before they export (issue #15, item 4), on the
/// real-schema fixture of ChatwootImportTests.
@Suite("Chatwoot import: scheduled refresh before the export")
struct ChatwootScheduleTests {
    static func saveSource(_ warehouse: Connection, name: String = "acme", url: String) throws -> ImportSource {
        try ImportSourceStore(connection: warehouse).save(
            ImportSourceDefinition(name: name, conninfo: url, accountID: 1, chatwootURL: ChatwootFixture.chatwootURL)).source
    }

    static func addSchedule(_ warehouse: Connection, name: String, type: String = "messages", destination: String,
                            importing source: String?) throws -> Schedule {
        var definition = ScheduleDefinition(name: name, type: ExportType.named(type)!, frequency: .daily,
                                            destination: try Destination(parsing: destination))
        definition.parameters.timeZone = "UTC"
        definition.start = RangeBound("2026-03-02")
        definition.now = Instant("2026-03-03T06:00:00Z")
        definition.importSource = source
        return try ScheduleStore(connection: warehouse).add(definition)
    }

    static func runner(_ warehouse: Connection) -> JobRunner {
        var options = RunnerOptions()
        options.organization = "acme"
        return JobRunner(connection: warehouse, schemaVersion: 1, options: options)
    }

    /// The ids of a messages CSV (first column, header skipped).
    static func messageIDs(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { String($0.split(separator: ",").first ?? "") }
    }

    static func files(under directory: URL) -> [String] {
        (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".csv") }.sorted()
    }

    @Test("a schedule with --import exports the freshly imported conversations, and a change in the source shows up in the next period")
    func importThenExport() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.saveSource(warehouse, url: source.url)
        let schedule = try Self.addSchedule(warehouse, name: "cw-daily", destination: destination.path, importing: "chatwoot:acme")
        #expect(schedule.importSource == "chatwoot:acme")
        #expect(try warehouse.execute("select count(*) from inbox.conversations").scalar == "0")

        // Monday 06:00: the import runs first, then Monday's period (2026-03-02) is exported.
        let first = try Self.runner(warehouse).runDue(now: Instant("2026-03-03T06:00:00Z"))
        let job = try #require(first.outcomes.first)
        #expect(first.outcomes.count == 1)
        #expect(job.state == .succeeded, "\(job.error ?? "")")
        let imported = try #require(job.imported)
        #expect(imported.source == "chatwoot:acme" && imported.rejected == 0 && !imported.isShared && imported.loaded > 0)
        let path = try #require(job.filePath)
        #expect(try Self.messageIDs(path) == ["cw:1:message:101", "cw:1:message:102", "cw:1:message:103", "cw:1:message:105",
                                              "cw:1:message:107", "cw:1:message:108", "cw:1:message:110", "cw:1:message:201",
                                              "cw:1:message:203", "cw:1:message:206", "cw:1:message:207"])
        // Byte for byte what an export of a warehouse imported by hand gives for that period.
        let (direct, _) = try TestSupport.freshDatabase()
        _ = try ChatwootFixture.importAccount(from: source, into: direct)
        let expectedPath = try TestSupport.temporaryDirectory().appendingPathComponent("expected.csv").path
        let period = try #require(job.period)
        try Exporter(connection: direct, schemaVersion: 1)
            .export(ExportType.named("messages")!, schedule.parameters(for: period, asOf: try #require(Instant(first.runAt))), to: expectedPath)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(contentsOf: URL(fileURLWithPath: expectedPath)))
        let events = try warehouse.execute("""
            select string_agg(e.value->>'event', ',' order by e.position),
                   string_agg(e.value->>'message', ' | ') filter (where e.value->>'event' = 'imported')
            from warehouse.export_jobs, jsonb_array_elements(events) with ordinality as e(value, position) where job_id = $1
            """, binds: [job.jobID])
        #expect(events.value(0, 0) == "running,imported,succeeded")
        #expect(events.value(0, 1)?.hasPrefix("chatwoot:acme: \(imported.loaded) records loaded, 0 rejected") == true)

        // The account changes (two messages on Tuesday, among them a new conversation); Tuesday's
        // run imports them incrementally before it exports Tuesday.
        try source.apply("changes.sql")
        let second = try Self.runner(warehouse).runDue(now: Instant("2026-03-04T06:00:00Z"))
        let tuesday = try #require(second.outcomes.first)
        #expect(second.outcomes.count == 1)
        #expect(tuesday.state == .succeeded, "\(tuesday.error ?? "")")
        #expect(tuesday.period?.start == "2026-03-03T00:00:00Z")
        #expect(try Self.messageIDs(try #require(tuesday.filePath)) == [
            "cw:1:message:210", "cw:1:message:212", "cw:1:message:301", "cw:1:message:302", "cw:1:message:303", "cw:1:message:501"])
        // Incremental: only the conversations the changes touched (and 11, within the marks'
        // overlap; ChatwootIncrementalTests) were read again.
        let ledger = try warehouse.execute("""
            select count(*) from warehouse.loads where source = 'chatwoot:cw/accounts/1/conversations'
            """).scalar
        #expect(ledger == "2")
        #expect(try warehouse.execute("""
            select max_updated_at = '2026-03-03T13:00:00Z' from warehouse.import_marks
            where source_name = 'cw' and account_id = 1 and source_table = 'messages'
            """).scalar == "t")
    }

    @Test("two schedules sharing a source import it once per run")
    func oneImportPerRun() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.saveSource(warehouse, url: source.url)
        _ = try Self.addSchedule(warehouse, name: "a-messages", destination: destination.path, importing: "chatwoot:acme")
        _ = try Self.addSchedule(warehouse, name: "b-resolved", type: "resolved-conversations", destination: destination.path,
                                 importing: "chatwoot:acme")
        let report = try Self.runner(warehouse).runDue(now: Instant("2026-03-03T06:00:00Z"))
        #expect(report.outcomes.map(\.state) == [.succeeded, .succeeded])
        #expect(report.outcomes.map { $0.imported?.isShared } == [false, true])
        // One import: one ledger entry per stream, eight streams.
        #expect(try warehouse.execute("select count(*) from warehouse.loads where source like 'chatwoot:%'").scalar == "8")
        #expect(Self.files(under: destination).count == 2)
        let resolved = try String(contentsOfFile: try #require(report.outcomes.last?.filePath), encoding: .utf8)
        #expect(resolved.contains("cw:1:conversation:11,"))
    }

    @Test("an unreachable source fails the job without a file; the next run retries it")
    func importFailureFailsTheJob() throws {
        let source = try ChatwootSource.make()
        let (warehouse, _) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory()
        let port = try SchedulingSupport.freePort()
        _ = try Self.saveSource(warehouse, name: "down", url: "postgresql://nobody@127.0.0.1:\(port)/chatwoot")
        _ = try Self.addSchedule(warehouse, name: "a-down", destination: destination.path, importing: "chatwoot:down")
        _ = try Self.addSchedule(warehouse, name: "b-down", type: "resolved-conversations", destination: destination.path,
                                 importing: "chatwoot:down")
        let report = try Self.runner(warehouse).runDue(now: Instant("2026-03-03T06:00:00Z"))
        #expect(report.outcomes.map(\.state) == [.failed, .failed])
        for outcome in report.outcomes {
            #expect(outcome.error?.hasPrefix("import chatwoot:down failed, nothing exported: ") == true, "\(outcome.error ?? "")")
            #expect(outcome.filePath == nil && outcome.imported == nil)
        }
        #expect(Self.files(under: destination).isEmpty)
        #expect(try warehouse.execute("select count(*) from warehouse.export_jobs where state = 'failed' and file_path is null").scalar == "2")

        // The source is back (saved again with the right URL): the next run retries both jobs.
        _ = try Self.saveSource(warehouse, name: "down", url: source.url)
        let retry = try Self.runner(warehouse).runDue(now: Instant("2026-03-03T07:00:00Z"))
        #expect(retry.outcomes.map(\.state) == [.succeeded, .succeeded])
        #expect(try warehouse.execute("select string_agg(attempts::text, ',' order by job_id) from warehouse.export_jobs").scalar == "2,2")
        #expect(Self.files(under: destination).count == 2)
    }

    @Test("rejected records do not stop the export; the job notes how many")
    func rejectsAreNoted() throws {
        let source = try ChatwootSource.make()
        try source.connection.execute("update csat_survey_responses set rating = 9 where id = 1")
        let (warehouse, _) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.saveSource(warehouse, url: source.url)
        _ = try Self.addSchedule(warehouse, name: "cw-daily", destination: destination.path, importing: "chatwoot:acme")
        let report = try Self.runner(warehouse).runDue(now: Instant("2026-03-03T06:00:00Z"))
        let job = try #require(report.outcomes.first)
        #expect(job.state == .succeeded)
        #expect(job.imported?.rejected == 1)
        #expect(try Self.messageIDs(try #require(job.filePath)).count == 11)
        let message = try warehouse.execute("""
            select e->>'message' from warehouse.export_jobs, jsonb_array_elements(events) e
            where job_id = $1 and e->>'event' = 'imported'
            """, binds: [job.jobID]).scalar
        #expect(message?.contains(", 1 rejected (kept in warehouse.load_rejects") == true, "\(message ?? "")")
    }

    @Test("saved sources refuse a password, name unknown sources clearly, and cannot be removed while a schedule imports them")
    func savedSources() throws {
        let (warehouse, _) = try TestSupport.freshDatabase()
        let store = ImportSourceStore(connection: warehouse)
        for url in ["postgresql://reader:s3cret-pw@db/chatwoot", "host=db user=reader password=s3cret-pw dbname=chatwoot",
                    "postgresql://reader@db/chatwoot?password=s3cret-pw"] {
            let error = try #require(throws: WarehouseError.self) {
                try store.save(ImportSourceDefinition(name: "acme", conninfo: url, accountID: 1))
            }
            #expect(!error.description.contains("s3cret-pw"))
            #expect(error.description.contains("PGPASSFILE"))
        }
        #expect(throws: WarehouseError.self) { try store.save(ImportSourceDefinition(name: "acme", conninfo: "host='db", accountID: 1)) }
        #expect(try store.list().isEmpty)

        let saved = try store.save(ImportSourceDefinition(name: "acme", conninfo: "service=chatwoot", accountID: 1))
        #expect(!saved.replaced && saved.source.reference == "chatwoot:acme")
        let replaced = try store.save(ImportSourceDefinition(name: "acme", conninfo: "service=chatwoot", accountID: 2, sourceName: "cw2"))
        #expect(replaced.replaced && replaced.source.accountID == 2 && replaced.source.sourceName == "cw2")
        #expect(replaced.source.importSourceID == saved.source.importSourceID)

        let destination = try TestSupport.temporaryDirectory().path
        #expect(throws: WarehouseError.invalidParameter("no saved source chatwoot:other: save one with import chatwoot ... --save-as other")) {
            try Self.addSchedule(warehouse, name: "x", destination: destination, importing: "chatwoot:other")
        }
        #expect(throws: WarehouseError.self) { try Self.addSchedule(warehouse, name: "x", destination: destination, importing: "zendesk:acme") }
        _ = try Self.addSchedule(warehouse, name: "x", destination: destination, importing: "chatwoot:acme")
        let refused = try #require(throws: WarehouseError.self) { try store.remove(name: "acme") }
        #expect(refused.description.contains("schedules x"))
        try ScheduleStore(connection: warehouse).remove(name: "x")
        #expect(try store.remove(name: "acme"))
        #expect(try !store.remove(name: "acme"))
    }

    @Test("a scheduled import waits for a running import of the same account instead of failing")
    func waitsForARunningImport() throws {
        let source = try ChatwootSource.make()
        let (warehouse, warehouseURL) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.saveSource(warehouse, url: source.url)
        _ = try Self.addSchedule(warehouse, name: "cw-daily", destination: destination.path, importing: "chatwoot:acme")
        // Another import of the account (another runner's, or `import chatwoot`) holds the lock.
        let holder = try Connection(conninfo: warehouseURL)
        let key = ChatwootImporter.lockKey(sourceName: "cw", accountID: 1)
        try holder.execute("select pg_advisory_lock(hashtext($1))", binds: [key])
        let child = try SchedulingSupport.startCLI(["schedule", "run-due", "--now", "2026-03-03T06:00:00Z", "--database-url", warehouseURL])
        var waiting = false
        for _ in 0..<600 where !waiting {
            waiting = try holder.execute("""
                select count(*) from pg_locks l join pg_stat_activity a using (pid)
                where l.locktype = 'advisory' and not l.granted and a.datname = current_database()
                """).scalar == "1"
            if !waiting { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(waiting)
        #expect(try holder.execute("select state from warehouse.export_jobs").scalar == "running")
        #expect(Self.files(under: destination).isEmpty)
        try holder.execute("select pg_advisory_unlock(hashtext($1))", binds: [key])
        let result = child.finish()
        #expect(result.status == 0, "\(result.error)")
        #expect(try holder.execute("select state from warehouse.export_jobs").scalar == "succeeded")
        #expect(Self.files(under: destination).count == 1)
    }
}

@Suite("Chatwoot import: scheduled refresh on the command line")
struct ChatwootScheduleCommandLineTests {
    @Test("save a source, schedule it, run it: no command ever prints the source's password")
    func commandLine() throws {
        let source = try ChatwootSource.make()
        let (warehouse, warehouseURL) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory()
        let password = "s3cret-pw"
        var components = try #require(URLComponents(string: source.url))
        components.password = password
        let urlWithPassword = try #require(components.string)
        var outputs: [String] = []
        func run(_ arguments: [String], environment: [String: String] = [:]) throws -> TestSupport.CommandResult {
            let result = try TestSupport.runCLI(arguments + ["--database-url", warehouseURL], environment: environment)
            outputs.append(result.standardOutput + result.standardError)
            return result
        }

        // A password in the URL is refused before anything runs.
        let refused = try run(["import", "chatwoot", "--source-url", urlWithPassword, "--account-id", "1", "--save-as", "acme"])
        #expect(refused.status == 64)
        #expect(refused.standardError.contains("PGPASSFILE"))
        #expect(try warehouse.execute("select count(*) from warehouse.import_sources").scalar == "0")
        #expect(try warehouse.execute("select count(*) from warehouse.loads").scalar == "0")

        // Without it, with the password in PGPASSWORD (the test server trusts local connections,
        // so it is accepted and unused), the import runs and the source is saved.
        let environment = ["PGPASSWORD": password]
        let saved = try run(["import", "chatwoot", "--source-url", source.url, "--account-id", "1", "--chatwoot-url",
                             ChatwootFixture.chatwootURL, "--save-as", "acme", "--json"], environment: environment)
        #expect(saved.status == 0, "\(saved.standardError)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(saved.standardOutput.utf8)) as? [String: Any])
        #expect(summary["saved_as"] as? String == "chatwoot:acme")
        let list = try run(["import", "list"])
        #expect(list.status == 0 && list.standardOutput.contains("acme") && list.standardOutput.contains("chatwoot"))
        let listJSON = try run(["import", "list", "--json"])
        let sources = try #require(try JSONSerialization.jsonObject(with: Data(listJSON.standardOutput.utf8)) as? [[String: Any]])
        #expect(sources.first?["source_url"] as? String == source.url)

        #expect(try run(["schedule", "add", "--name", "cw", "--type", "messages", "--frequency", "daily", "--destination",
                         destination.path, "--start", "2026-03-02", "--import", "zendesk:acme"]).status == 64)
        let unknown = try run(["schedule", "add", "--name", "cw", "--type", "messages", "--frequency", "daily", "--destination",
                               destination.path, "--start", "2026-03-02", "--import", "chatwoot:other"])
        #expect(unknown.status == 1 && unknown.standardError.contains("no saved source chatwoot:other"))
        let added = try run(["schedule", "add", "--name", "cw", "--type", "messages", "--frequency", "daily", "--destination",
                             destination.path, "--start", "2026-03-02", "--now", "2026-03-03T06:00:00Z", "--import", "chatwoot:acme"])
        #expect(added.status == 0, "\(added.standardError)")
        #expect(added.standardError.contains("importing chatwoot:acme first"))
        let schedules = try run(["schedule", "list"])
        #expect(schedules.standardOutput.contains("chatwoot:acme"))
        let schedulesJSON = try run(["schedule", "list", "--json"])
        let scheduleObjects = try #require(try JSONSerialization.jsonObject(with: Data(schedulesJSON.standardOutput.utf8)) as? [[String: Any]])
        #expect(scheduleObjects.first?["import"] as? String == "chatwoot:acme")

        // The password from a password file this time.
        let passfile = try TestSupport.temporaryDirectory().appendingPathComponent("pgpass")
        try "*:*:*:*:\(password)\n".write(to: passfile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile.path)
        let due = try run(["schedule", "run-due", "--now", "2026-03-03T06:00:00Z", "--json"], environment: ["PGPASSFILE": passfile.path])
        #expect(due.status == 0, "\(due.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(due.standardOutput.utf8)) as? [String: Any])
        let job = try #require((report["jobs"] as? [[String: Any]])?.first)
        #expect(job["state"] as? String == "succeeded")
        #expect((job["import"] as? [String: Any])?["source"] as? String == "chatwoot:acme")
        #expect((job["import"] as? [String: Any])?["rejected"] as? Int == 0)

        let again = try run(["import", "run", "acme"], environment: environment)
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains("mode: incremental"))

        // A source that cannot be reached: the job fails, the error names the source, no password.
        let port = try SchedulingSupport.freePort()
        _ = try ImportSourceStore(connection: warehouse).save(
            ImportSourceDefinition(name: "down", conninfo: "postgresql://reader@127.0.0.1:\(port)/chatwoot", accountID: 1))
        #expect(try run(["schedule", "add", "--name", "down", "--type", "messages", "--frequency", "daily", "--destination",
                         destination.path, "--start", "2026-03-02", "--now", "2026-03-03T06:00:00Z", "--import", "chatwoot:down"]).status == 0)
        let failed = try run(["schedule", "run-due", "--now", "2026-03-03T06:00:00Z", "--json"], environment: environment)
        #expect(failed.status == 1)
        #expect(failed.standardOutput.contains("import chatwoot:down failed, nothing exported"))
        let jobs = try run(["jobs", "list", "--json"])
        #expect(jobs.status == 0)

        let inUse = try run(["import", "remove", "acme"])
        #expect(inUse.status == 1 && inUse.standardError.contains("schedules cw"))
        #expect(try run(["schedule", "remove", "cw"]).status == 0)
        #expect(try run(["import", "remove", "acme"]).status == 0)

        for output in outputs { #expect(!output.contains(password), "\(output)") }
        #expect(try warehouse.execute("""
            select count(*) from warehouse.import_sources where conninfo like '%' || $1 || '%'
            """, binds: [password]).scalar == "0")
    }
}

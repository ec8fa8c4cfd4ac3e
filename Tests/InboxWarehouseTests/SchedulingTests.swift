import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

@Suite("Scheduling: jobs, schedules, delivery, notifications, retention")
struct SchedulingTests {
    /// A TWITTER channel (so the default content policy would show content on demand) and
    /// messages on both sides of every Paris midnight around the 2026-03-29 DST change.
    static let dstLog = [
        #"{"type":"channel","id":"ch-tw","medium":"TWITTER","name":"@brand"}"#,
        #"{"type":"contact","id":"ct-1","medium":"TWITTER","created_at":"2026-03-01T00:00:00Z"}"#,
        #"{"type":"conversation","id":"cv-1","channel_id":"ch-tw","contact_id":"ct-1","created_at":"2026-03-27T12:00:00Z"}"#,
        // 2026-03-28 00:30+01:00 and 23:59:59+01:00: Saturday (24 h)
        #"{"type":"message","id":"m-28a","conversation_id":"cv-1","created_at":"2026-03-27T23:30:00Z","direction":"INBOUND","content":"secret-28a"}"#,
        #"{"type":"message","id":"m-28b","conversation_id":"cv-1","created_at":"2026-03-28T22:59:59Z","direction":"INBOUND","content":"secret-28b"}"#,
        // 2026-03-29 00:00+01:00, 03:30+02:00 (after the gap), 23:59:59+02:00: Sunday (23 h)
        #"{"type":"message","id":"m-29a","conversation_id":"cv-1","created_at":"2026-03-28T23:00:00Z","direction":"INBOUND","content":"secret-29a"}"#,
        #"{"type":"message","id":"m-29b","conversation_id":"cv-1","created_at":"2026-03-29T01:30:00Z","direction":"INBOUND","content":"secret-29b"}"#,
        #"{"type":"message","id":"m-29c","conversation_id":"cv-1","created_at":"2026-03-29T21:59:59Z","direction":"INBOUND","content":"secret-29c"}"#,
        // 2026-03-30 00:00+02:00 and 23:30+02:00: Monday (24 h)
        #"{"type":"message","id":"m-30a","conversation_id":"cv-1","created_at":"2026-03-29T22:00:00Z","direction":"INBOUND","content":"secret-30a"}"#,
        #"{"type":"message","id":"m-30b","conversation_id":"cv-1","created_at":"2026-03-30T21:30:00Z","direction":"INBOUND","content":"secret-30b"}"#,
        // 2026-03-31 00:30+02:00: Tuesday
        #"{"type":"message","id":"m-31a","conversation_id":"cv-1","created_at":"2026-03-30T22:30:00Z","direction":"INBOUND","content":"secret-31a"}"#,
    ]

    static func loadedDatabase(_ lines: [String] = dstLog) throws -> (Connection, String) {
        let (connection, url) = try TestSupport.freshDatabase()
        let summary = try Loader(connection: connection).load([.file(try TestSupport.writeLog(lines))])
        #expect(summary.rejected == 0)
        return (connection, url)
    }

    static func addSchedule(_ connection: Connection, name: String, type: String = "messages", frequency: Frequency = .daily,
                            zone: String = "Europe/Paris", destination: String, start: String, now: Instant) throws -> Schedule {
        var definition = ScheduleDefinition(name: name, type: ExportType.named(type)!, frequency: frequency,
                                            destination: try Destination(parsing: destination))
        definition.parameters.timeZone = zone
        definition.start = RangeBound(start)
        definition.now = now
        return try ScheduleStore(connection: connection).add(definition)
    }

    /// Message ids of a messages CSV (first column, header skipped).
    static func messageIDs(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: ",").first ?? "") }
    }

    static func manifest(_ path: String) throws -> ExportManifest {
        try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: path + ".manifest.json")))
    }

    // MARK: DST

    @Test("a daily Europe/Paris schedule across the March DST change writes one file per day with the right range, once")
    func dailyScheduleAcrossDST() throws {
        let (connection, _) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        let schedule = try Self.addSchedule(connection, name: "paris-daily", destination: destination.path,
                                            start: "2026-03-28", now: "2026-03-31T08:00:00+02:00")
        #expect(schedule.startsAt == "2026-03-27T23:00:00Z")
        var options = RunnerOptions()
        options.organization = "Acme Corp"
        let runner = JobRunner(connection: connection, schemaVersion: 3, options: options)

        let report = try runner.runDue(now: "2026-03-31T08:00:00+02:00")
        #expect(report.outcomes.map(\.state) == [.succeeded, .succeeded, .succeeded])
        let ids = report.outcomes.map(\.jobID)
        #expect(report.outcomes.map { $0.period?.start } == ["2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"])
        #expect(report.outcomes.map { $0.period?.end } == ["2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z"])

        // One folder per type, names with organisation, type, local period bounds and job id.
        let expectedNames = [
            "Acme-Corp_messages_20260328T000000+0100_20260329T000000+0100_job\(ids[0]).csv",
            "Acme-Corp_messages_20260329T000000+0100_20260330T000000+0200_job\(ids[1]).csv",
            "Acme-Corp_messages_20260330T000000+0200_20260331T000000+0200_job\(ids[2]).csv",
        ]
        #expect(SchedulingSupport.tree(destination) == expectedNames.flatMap { ["messages/\($0)", "messages/\($0).manifest.json"] }.sorted())
        let files = expectedNames.map { destination.appendingPathComponent("messages/\($0)").path }
        #expect(try Self.messageIDs(files[0]) == ["m-28a", "m-28b"])
        #expect(try Self.messageIDs(files[1]) == ["m-29a", "m-29b", "m-29c"])
        #expect(try Self.messageIDs(files[2]) == ["m-30a", "m-30b"])
        // The 23-hour Sunday, read back from its manifest; timestamps written in Paris time.
        let sunday = try Self.manifest(files[1])
        #expect(sunday.parameters.rangeStart == "2026-03-28 23:00:00.000000+00")
        #expect(sunday.parameters.rangeEnd == "2026-03-29 22:00:00.000000+00")
        #expect(sunday.parameters.timeZone == "Europe/Paris")
        #expect(sunday.parameters.isScheduled)
        #expect(sunday.parameters.asOf?.postgresLiteral == "2026-03-31 06:00:00+00")
        #expect(try String(contentsOfFile: files[1], encoding: .utf8).contains("m-29b,2026-03-29T03:30:00+02:00,"))
        // Scheduled exports never carry content, even for TWITTER.
        for file in files { #expect(!(try String(contentsOfFile: file, encoding: .utf8)).contains("secret")) }

        // The jobs record it all.
        let jobs = try JobStore(connection: connection).list(scheduleName: "paris-daily")
        #expect(jobs.count == 3)
        for job in jobs {
            #expect(job.state == .succeeded && job.attempts == 1 && job.finishedAt != nil)
            #expect(job.parameters.export.isScheduled && job.parameters.export.timeZone == "Europe/Paris")
        }
        let sundayJob = try #require(try JobStore(connection: connection).job(ids[1]))
        #expect(sundayJob.filePath == files[1])
        #expect(sundayJob.rows == 3)
        #expect(sundayJob.sha256 == sunday.sha256 && sundayJob.bytes == sunday.bytes)

        // Running again at the same moment finds nothing due; a day later, exactly Tuesday.
        #expect(try runner.runDue(now: "2026-03-31T08:00:00+02:00").outcomes.isEmpty)
        let next = try runner.runDue(now: "2026-04-01T00:00:00+02:00")
        #expect(next.outcomes.map { $0.period?.start } == ["2026-03-30T22:00:00Z"])
        #expect(try Self.messageIDs(try #require(next.outcomes.first?.filePath)) == ["m-31a"])
    }

    @Test("the October change gives a 25-hour day, and hourly periods follow elapsed hours (the repeated hour twice)")
    func autumnDSTPeriods() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory().path
        let daily = try Self.addSchedule(connection, name: "daily", destination: destination, start: "2026-10-25",
                                         now: "2026-10-26T12:00:00+01:00")
        let days = try SchedulePeriods.due(daily, runAt: "2026-10-26T12:00:00+01:00", maxAttempts: 3, retentionMonths: 18, connection: connection)
        #expect(days == [SchedulePeriod(start: "2026-10-24T22:00:00Z", end: "2026-10-25T23:00:00Z",
                                        startLabel: "20261025T000000+0200", endLabel: "20261026T000000+0100")])
        let hourly = try Self.addSchedule(connection, name: "hourly", frequency: .hourly, destination: destination,
                                          start: "2026-10-25T00:00:00+02:00", now: "2026-10-26T12:00:00+01:00")
        let hours = try SchedulePeriods.due(hourly, runAt: "2026-10-25T04:00:00+01:00", maxAttempts: 3, retentionMonths: 18, connection: connection)
        #expect(hours.map(\.startLabel) == ["20261025T000000+0200", "20261025T010000+0200", "20261025T020000+0200",
                                            "20261025T020000+0100", "20261025T030000+0100"])
        let weekly = try Self.addSchedule(connection, name: "weekly", frequency: .weekly, destination: destination,
                                          start: "2026-10-21", now: "2026-11-03T12:00:00+01:00")
        let weeks = try SchedulePeriods.due(weekly, runAt: "2026-11-03T12:00:00+01:00", maxAttempts: 3, retentionMonths: 18, connection: connection)
        #expect(weeks.map(\.startLabel) == ["20261019T000000+0200", "20261026T000000+0100"])
        let monthly = try Self.addSchedule(connection, name: "monthly", frequency: .monthly, destination: destination,
                                           start: "2026-09-15", now: "2026-11-03T12:00:00+01:00")
        let months = try SchedulePeriods.due(monthly, runAt: "2026-11-03T12:00:00+01:00", maxAttempts: 3, retentionMonths: 18, connection: connection)
        #expect(months.map(\.start) == ["2026-08-31T22:00:00Z", "2026-09-30T22:00:00Z"])
        #expect(months.map(\.end) == ["2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"])
    }

    @Test("a daily period starts at the first instant of its local date where midnight is repeated (Azores 2026-10-25: 25 hours)")
    func repeatedMidnightPeriods() throws {
        // Atlantic/Azores goes from +00:00 to -01:00 at 01:00Z on 2026-10-25, so local midnight
        // happens at 00:00Z and again at 01:00Z. The day 10-25 starts at the first (00:00Z) and
        // ends at 10-26 00:00 -01:00 = 01:00Z: 25 hours; 10-24 ends where 10-25 starts. Reading
        // midnight as PostgreSQL's `at time zone` does (the later occurrence) would move the
        // 10-24/10-25 boundary to 01:00Z, as export ranges did before export.local_day_start.
        let (connection, _) = try TestSupport.freshDatabase()
        let destination = try TestSupport.temporaryDirectory().path
        let daily = try Self.addSchedule(connection, name: "azores", zone: "Atlantic/Azores", destination: destination,
                                         start: "2026-10-24", now: "2026-10-27T12:00:00Z")
        let days = try SchedulePeriods.due(daily, runAt: "2026-10-27T12:00:00Z", maxAttempts: 3, retentionMonths: 18, connection: connection)
        #expect(days.map(\.start) == ["2026-10-24T00:00:00Z", "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"])
        #expect(days.map(\.end) == ["2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z", "2026-10-27T01:00:00Z"])
        #expect(days.map(\.startLabel) == ["20261024T000000+0000", "20261025T000000+0000", "20261026T000000-0100"])
    }

    @Test("a schedule added without --start first exports the previous complete period; bad input is refused")
    func scheduleDefaultsAndValidation() throws {
        let (connection, _) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory().path
        var definition = ScheduleDefinition(name: "d", type: ExportType.named("messages")!, frequency: .daily,
                                            destination: try Destination(parsing: destination))
        definition.parameters.timeZone = "europe/paris"
        definition.now = "2026-03-31T08:00:00+02:00"
        let schedule = try ScheduleStore(connection: connection).add(definition)
        #expect(schedule.startsAt == "2026-03-29T22:00:00Z")
        #expect(schedule.timeZone == "Europe/Paris")
        #expect(throws: WarehouseError.self) { try ScheduleStore(connection: connection).add(definition) }  // same name
        definition.name = "other"
        definition.parameters.timeZone = "Mars/Olympus"
        #expect(throws: WarehouseError.self) { try ScheduleStore(connection: connection).add(definition) }
        definition.parameters.timeZone = "UTC"
        definition.parameters.channelIDs = ["nope"]
        #expect(throws: WarehouseError.self) { try ScheduleStore(connection: connection).add(definition) }
        definition.parameters.channelIDs = []
        definition.start = RangeBound("2024-01-01")
        #expect(throws: WarehouseError.self) { try ScheduleStore(connection: connection).add(definition) }  // before the window
        #expect(throws: WarehouseError.self) { try Destination(parsing: "sftp://host/path") }  // no user
        #expect(throws: WarehouseError.self) { try Destination(parsing: "sftp://-oProxyCommand=x@host/path") }
        #expect(throws: WarehouseError.self) { try Destination(parsing: "ftp://u@host/path") }
        let sftp = try Destination(parsing: "sftp://exports@sftp.example.com:2222/incoming/acme/")
        #expect(sftp == .sftp(SFTPLocation(user: "exports", host: "sftp.example.com", port: 2222, path: "/incoming/acme")))
        #expect(sftp.description == "sftp://exports@sftp.example.com:2222/incoming/acme")
        #expect(try Destination(parsing: "sftp://u@h/~/drop") == .sftp(SFTPLocation(user: "u", host: "h", port: nil, path: "drop")))
        #expect(try ScheduleStore(connection: connection).remove(name: "d"))
        #expect(try ScheduleStore(connection: connection).list().isEmpty)
    }

    // MARK: Exactly once

    @Test("two concurrent `schedule run-due` processes export every (schedule, period) exactly once")
    func concurrentRunDue() throws {
        let (connection, url) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.addSchedule(connection, name: "race", destination: destination.path, start: "2026-03-15",
                                 now: "2026-03-31T08:00:00+02:00")
        _ = try Self.addSchedule(connection, name: "race-utc", type: "contacts", zone: "UTC", destination: destination.path,
                                 start: "2026-03-20", now: "2026-03-31T08:00:00+02:00")
        let arguments = ["schedule", "run-due", "--database-url", url, "--now", "2026-03-31T08:00:00+02:00", "--json"]
        let first = try SchedulingSupport.startCLI(arguments)
        let second = try SchedulingSupport.startCLI(arguments)
        let results = [first.finish(), second.finish()]
        for result in results { #expect(result.status == 0, "run-due failed: \(result.error)") }

        struct Summary: Decodable { struct Line: Decodable { let job_id: Int64; let state: String }; let jobs: [Line]; let skipped: Int }
        let summaries = try results.map { try JSONDecoder().decode(Summary.self, from: Data($0.output.utf8)) }
        let ran = summaries.flatMap { $0.jobs.map(\.job_id) }
        #expect(ran.count == 16 + 11, "each due period is run by exactly one of the runners")
        #expect(Set(ran).count == ran.count)

        let counts = try connection.execute("""
            select count(*), count(distinct (schedule_id, period_start)), count(*) filter (where state = 'succeeded' and attempts = 1)
            from warehouse.export_jobs
            """)
        #expect(counts.rows == [["27", "27", "27"]])
        let files = SchedulingSupport.tree(destination)
        #expect(files.filter { $0.hasSuffix(".csv") }.count == 27)
        #expect(files.filter { $0.hasSuffix(".csv.manifest.json") }.count == 27)
        #expect(files.allSatisfy { $0.hasPrefix("messages/inbox_messages_") || $0.hasPrefix("contacts/inbox_contacts_") })
        #expect(!files.contains { $0.contains(".partial") })

        // A third run, after both, has nothing to do.
        let again = try SchedulingSupport.startCLI(arguments).finish()
        #expect(try JSONDecoder().decode(Summary.self, from: Data(again.output.utf8)).jobs.isEmpty)

        // And the CLI lists them.
        let list = try SchedulingSupport.startCLI(["jobs", "list", "--database-url", url, "--schedule", "race", "--limit", "100"]).finish()
        #expect(list.status == 0)
        #expect(list.output.split(separator: "\n").count == 17)
        let show = try SchedulingSupport.startCLI(["jobs", "show", String(ran[0]), "--database-url", url]).finish()
        #expect(show.status == 0 && show.output.contains("succeeded") && show.output.contains("history"))
    }

    @Test("a job whose runner died while running is taken over; a job another session holds is left alone")
    func lockedAndStaleJobs() throws {
        let (connection, url) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.addSchedule(connection, name: "s", destination: destination.path, start: "2026-03-29", now: "2026-03-30T12:00:00+02:00")
        // A row left "running" by a dead runner, and one whose runner still holds its lock.
        try connection.execute("""
            insert into warehouse.export_jobs (export_type, schedule_id, schedule_name, period_start, period_end, state, attempts)
            select 'messages', schedule_id, name, '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', 'running', 1
            from warehouse.export_schedules
            """)
        let holder = try Connection(conninfo: url)
        let held = try #require(try connection.execute("select job_id from warehouse.export_jobs").scalar)
        #expect(try holder.execute("select pg_try_advisory_lock(hashtext('inbox-warehouse:export-job'), $1::int)", [held]).scalar == "t")
        let runner = JobRunner(connection: connection, schemaVersion: 3)
        let blocked = try runner.runDue(now: "2026-03-30T12:00:00+02:00")
        #expect(blocked.outcomes.isEmpty && blocked.skipped == 1)
        holder.close()  // the "runner" dies: its lock goes with its session
        #expect(try SchedulingSupport.waitUntil(seconds: 10) {
            try connection.execute("select 1 from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())").rowCount == 0
        })
        let taken = try runner.runDue(now: "2026-03-30T12:00:00+02:00")
        #expect(taken.outcomes.map(\.state) == [.succeeded])
        #expect(try JobStore(connection: connection).job(Int64(held)!)?.attempts == 2)
    }

    // MARK: Notifications

    @Test("LISTEN in psql sees the NOTIFY of a finished job with its JSON payload")
    func listenSeesNotification() throws {
        let (connection, url) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.addSchedule(connection, name: "notify-me", destination: destination.path, start: "2026-03-29",
                                 now: "2026-03-30T12:00:00+02:00")
        let application = "iw-listen-\(UUID().uuidString.prefix(8))"
        let listener = try SchedulingSupport.start(try SchedulingSupport.psql(), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                                                   input: "listen \(exportJobsChannel);\nselect pg_sleep(4);\n",
                                                   environment: ["PGAPPNAME": application])
        let listening = try SchedulingSupport.waitUntil(seconds: 10) {
            try connection.execute("""
                select 1 from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep%'
                """, [application]).rowCount > 0
        }
        #expect(listening)
        let report = try JobRunner(connection: connection, schemaVersion: 3).runDue(now: "2026-03-30T12:00:00+02:00")
        let job = try #require(report.outcomes.first)
        let output = listener.finish().output
        let prefix = "Asynchronous notification \"\(exportJobsChannel)\" with payload \""
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix(prefix) }, "psql printed: \(output)")
        let rest = String(line.dropFirst(prefix.count))
        let end = try #require(rest.range(of: "\" received from server process", options: .backwards))
        let payloadText = String(rest[..<end.lowerBound])
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(payloadText.utf8)) as? [String: Any])
        #expect(payload["event"] as? String == "export_job.finished")
        #expect((payload["job_id"] as? NSNumber)?.int64Value == job.jobID)
        #expect(payload["state"] as? String == "succeeded")
        #expect(payload["type"] as? String == "messages")
        #expect(payload["schedule"] as? String == "notify-me")
        #expect(payload["period_start"] as? String == "2026-03-28T23:00:00Z")
        #expect(payload["period_end"] as? String == "2026-03-29T22:00:00Z")
        #expect(payload["file"] as? String == job.filePath)
        #expect((payload["rows"] as? NSNumber)?.intValue == 3)
    }

    @Test("the webhook gets a signed JSON body, is retried with backoff, and its failures are recorded on the job")
    func webhookSignedAndRetried() throws {
        let (connection, _) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        _ = try Self.addSchedule(connection, name: "hooked", destination: destination.path, start: "2026-03-29",
                                 now: "2026-03-30T12:00:00+02:00")
        let server = try SchedulingWebhookServer(statuses: [503, 200])
        defer { server.stop() }
        let secret = "s3cret-\(UUID().uuidString)"
        var options = RunnerOptions()
        options.webhook = try WebhookSettings.make(url: server.url, secret: secret)
        options.webhook?.initialDelaySeconds = 0.05
        let report = try JobRunner(connection: connection, schemaVersion: 3, options: options).runDue(now: "2026-03-30T12:00:00+02:00")
        let jobID = try #require(report.outcomes.first?.jobID)

        let requests = server.requests
        #expect(requests.count == 2)
        for request in requests {
            #expect(request.method == "POST" && request.path == "/hooks/exports")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["x-inbox-warehouse-event"] == "export_job.finished")
        }
        #expect(requests.map { $0.headers["x-inbox-warehouse-attempt"] } == ["1", "2"])
        let last = try #require(requests.last)
        // Verified independently of our code, with Python's hmac module (the docs' snippet).
        let signature = try #require(last.headers["x-inbox-warehouse-signature"])
        let check = try SchedulingSupport.run("/usr/bin/env", ["python3", "-c", """
            import hashlib, hmac, sys
            body = sys.stdin.buffer.read()
            expected = "sha256=" + hmac.new(sys.argv[1].encode(), body, hashlib.sha256).hexdigest()
            print("ok" if hmac.compare_digest(expected, sys.argv[2]) else "bad")
            """, secret, signature], input: String(decoding: last.body, as: UTF8.self))
        #expect(check.output == "ok\n", "python3: \(check.error)")
        #expect(WebhookSignature.verify(last.body, signature: signature, secret: secret))
        #expect(!WebhookSignature.verify(last.body, signature: signature, secret: "other"))
        let body = try #require(try JSONSerialization.jsonObject(with: last.body) as? [String: Any])
        #expect((body["job_id"] as? NSNumber)?.int64Value == jobID)
        #expect(body["state"] as? String == "succeeded")

        let job = try #require(try JobStore(connection: connection).job(jobID))
        #expect(job.webhookAttempts == 2 && job.webhookDeliveredAt != nil && job.webhookError == nil)
        #expect(job.events.contains { $0.event == "webhook_failed" && $0.message == "attempt 1: HTTP 503" })

        // An endpoint that never accepts: the job stays succeeded, the webhook failure is recorded.
        let down = try SchedulingWebhookServer(statuses: [500])
        defer { down.stop() }
        options.webhook = try WebhookSettings.make(url: down.url, secret: secret)
        options.webhook?.initialDelaySeconds = 0.05
        options.webhook?.attempts = 3
        let parameters = ExportParameters(from: RangeBound("2026-03-29"), to: RangeBound("2026-03-29"), asOf: "2026-03-30T12:00:00Z")
        let onDemand = try JobRunner(connection: connection, schemaVersion: 3, options: options)
            .run(.single(ExportType.named("messages")!, parameters, to: try TestSupport.temporaryDirectory().appendingPathComponent("m.csv").path))
        let onDemandID = try #require(onDemand.jobIDs.first)
        let recorded = try #require(try JobStore(connection: connection).job(onDemandID))
        #expect(down.requests.count == 3)
        #expect(recorded.state == .succeeded && recorded.webhookAttempts == 3 && recorded.webhookError == "HTTP 500")
        #expect(recorded.webhookDeliveredAt == nil)
    }

    @Test("one runner for every on-demand export: --all records a job per file; a role that may not record says so and still exports")
    func onDemandRunnerDecides() throws {
        let (owner, url) = try Self.loadedDatabase()
        let parameters = ExportParameters(from: RangeBound("2026-03-29"), to: RangeBound("2026-03-29"), timeZone: "Europe/Paris",
                                          asOf: "2026-03-30T12:00:00Z")
        // --all through the runner: twelve files, twelve succeeded jobs naming them.
        let directory = try TestSupport.temporaryDirectory()
        let all = try JobRunner(connection: owner, schemaVersion: 3).run(.all(parameters, into: directory.path))
        #expect(all.manifests.map(\.type) == ExportType.all.map(\.slug))
        #expect(all.jobIDs.count == 12)
        let jobs = try JobStore(connection: owner).list(limit: 12)
        #expect(jobs.allSatisfy { $0.state == .succeeded })
        #expect(Set(jobs.compactMap(\.filePath)) == Set(ExportType.all.map { directory.appendingPathComponent("\($0.slug).csv").path }))

        // The read-only reader may not write jobs: the runner exports anyway, and says so.
        let user = "iw_runner_\(TestServer.shared.runID)_\(UUID().uuidString.prefix(6).lowercased())"
        try owner.execute("create role \(try owner.escapeIdentifier(user)) login in role inbox_warehouse_reader")
        defer { _ = try? owner.execute("drop role if exists \(try owner.escapeIdentifier(user))") }
        var components = try #require(URLComponents(string: url))
        components.user = user
        let reader = try Connection(conninfo: components.string!)
        let said = LockedLines()
        let path = directory.appendingPathComponent("as-reader.csv").path
        let run = try JobRunner(connection: reader, schemaVersion: 3) { said.append($0) }
            .run(.single(ExportType.named("messages")!, parameters, to: path))
        #expect(run.jobIDs.isEmpty && !run.isRecorded)
        #expect(said.lines == ["not recorded as a job: \(user) may not write warehouse.export_jobs"])
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: directory.appendingPathComponent("messages.csv").path))
        #expect(try JobStore(connection: owner).list(limit: 100).count == 12)

        // --all failing on its third file: the two before it succeeded, the third failed with
        // the error, the nine after it failed as not written.
        try owner.execute("drop view export.messages")
        try owner.execute("create view export.messages as select (1 / 0)::text as c1, "
                          + (2...29).map { "null::text as c\($0)" }.joined(separator: ", "))
        let failing = try TestSupport.temporaryDirectory()
        #expect(throws: PostgresError.self) { try JobRunner(connection: owner, schemaVersion: 3).run(.all(parameters, into: failing.path)) }
        let latest = try JobStore(connection: owner).list(limit: 12).reversed().map { ($0.exportType, $0.state, $0.error ?? "") }
        #expect(latest.map(\.0) == ExportType.all.map(\.slug))
        #expect(latest.map(\.1) == [.succeeded, .succeeded] + Array(repeating: JobState.failed, count: 10))
        #expect(latest[2].2.contains("SQLSTATE 22012"), "\(latest[2].2)")
        #expect(latest.dropFirst(3).allSatisfy { $0.2 == "not written: the export of messages failed before it" })
        #expect(directoryListing(failing).filter { $0.hasSuffix(".csv") } == ["open-conversations.csv", "resolved-conversations.csv"])
    }

    @Test("on-demand exports are recorded as jobs, failures with their message")
    func onDemandJobs() throws {
        let (connection, _) = try Self.loadedDatabase()
        let messages = ExportType.named("messages")!
        var parameters = ExportParameters(from: RangeBound("2026-03-29"), to: RangeBound("2026-03-29"), timeZone: "Europe/Paris",
                                          asOf: "2026-03-30T12:00:00Z")
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("m.csv").path
        let run = try JobRunner(connection: connection, schemaVersion: 3).run(.single(messages, parameters, to: path))
        let jobID = try #require(run.jobIDs.first)
        let job = try #require(try JobStore(connection: connection).job(jobID))
        #expect(job.state == .succeeded && job.scheduleID == nil && job.filePath == path && job.rows == 3)
        #expect(job.parameters.export.from == RangeBound("2026-03-29") && job.parameters.export.timeZone == "Europe/Paris"
                && !job.parameters.export.isScheduled)
        // On demand, the default policy shows TWITTER content.
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("secret-29a"))
        parameters.channelIDs = ["nope"]
        #expect(throws: WarehouseError.self) {
            try JobRunner(connection: connection, schemaVersion: 3).run(.single(messages, parameters, to: path + ".2"))
        }
        let failed = try #require(try JobStore(connection: connection).list(state: .failed).first)
        #expect(failed.error == "unknown channel id \"nope\"")
        #expect(failed.filePath == nil)
    }

    // MARK: SFTP

    @Test("SFTP delivery to a real loopback sshd: a failed delivery is recorded and retried by the next run")
    func sftpDeliveryRetried() throws {
        let (connection, _) = try Self.loadedDatabase()
        let server = try SchedulingSSHServer()
        defer { server.stop() }
        let remote = try TestSupport.temporaryDirectory().appendingPathComponent("drop")
        _ = try Self.addSchedule(connection, name: "to-sftp", destination: "sftp://\(server.user)@127.0.0.1:\(server.port)\(remote.path)",
                                 start: "2026-03-29", now: "2026-03-30T12:00:00+02:00")
        var options = RunnerOptions()
        options.organization = "acme"
        options.sftp.identityFile = server.clientKey
        options.sftp.knownHostsFile = server.knownHosts
        options.sftp.connectTimeoutSeconds = 5
        options.deliveryAttempts = 2
        options.deliveryInitialDelaySeconds = 0.1
        let runner = JobRunner(connection: connection, schemaVersion: 3, options: options)

        // sshd is not started yet: the host is unreachable, twice.
        let first = try runner.runDue(now: "2026-03-30T12:00:00+02:00")
        let failed = try #require(first.outcomes.first)
        #expect(failed.state == .failed)
        let failedJob = try #require(try JobStore(connection: connection).job(failed.jobID))
        #expect(failedJob.state == .failed && failedJob.attempts == 1 && failedJob.deliveryAttempts == 2)
        #expect(failedJob.error?.contains("host unreachable") == true, "\(failedJob.error ?? "")")
        #expect(failedJob.events.filter { $0.event == "delivery_failed" }.count == 2)
        #expect(!FileManager.default.fileExists(atPath: remote.path))

        // The server comes up; the next run retries the same job and delivers.
        try server.start()
        let second = try runner.runDue(now: "2026-03-30T12:05:00+02:00")
        #expect(second.outcomes.map(\.jobID) == [failed.jobID])
        #expect(second.outcomes.map(\.state) == [.succeeded])
        let job = try #require(try JobStore(connection: connection).job(failed.jobID))
        #expect(job.state == .succeeded && job.attempts == 2 && job.deliveryAttempts == 3 && job.error == nil)
        let name = "acme_messages_20260329T000000+0100_20260330T000000+0200_job\(failed.jobID).csv"
        #expect(job.filePath == "sftp://\(server.user)@127.0.0.1:\(server.port)\(remote.path)/messages/\(name)")
        #expect(SchedulingSupport.tree(remote) == ["messages/\(name)", "messages/\(name).manifest.json"])
        let delivered = remote.appendingPathComponent("messages/\(name)").path
        #expect(try Self.messageIDs(delivered) == ["m-29a", "m-29b", "m-29c"])
        #expect(try Self.manifest(delivered).sha256 == job.sha256)

        // Nothing left to do.
        #expect(try runner.runDue(now: "2026-03-30T12:10:00+02:00").outcomes.isEmpty)
    }

    @Test("SFTP errors are told apart: authentication, host key mismatch, unreachable host")
    func sftpErrors() throws {
        let server = try SchedulingSSHServer()
        defer { server.stop() }
        try server.start()
        let local = try TestSupport.temporaryDirectory().appendingPathComponent("f.csv").path
        try "a,b\n".write(toFile: local, atomically: true, encoding: .utf8)
        let remote = try TestSupport.temporaryDirectory().appendingPathComponent("up")
        let location = SFTPLocation(user: server.user, host: "127.0.0.1", port: server.port, path: remote.path)
        func upload(key: String, knownHosts: String, port: Int? = nil) -> SFTPError? {
            var settings = SFTPSettings()
            settings.identityFile = key
            settings.knownHostsFile = knownHosts
            settings.connectTimeoutSeconds = 5
            let target = SFTPLocation(user: location.user, host: location.host, port: port ?? location.port, path: location.path)
            do {
                try SFTPUploader(settings: settings).upload([(local, "f.csv")], to: target, subdirectory: "t")
                return nil
            } catch {
                return error as? SFTPError
            }
        }
        #expect(upload(key: server.clientKey, knownHosts: server.knownHosts) == nil)
        #expect(try String(contentsOf: remote.appendingPathComponent("t/f.csv"), encoding: .utf8) == "a,b\n")
        #expect(upload(key: try server.strangerKey(), knownHosts: server.knownHosts)?.kind == .authentication)
        #expect(upload(key: server.clientKey, knownHosts: try server.wrongKnownHosts())?.kind == .hostKey)
        let emptyKnownHosts = try TestSupport.temporaryDirectory().appendingPathComponent("kh").path
        _ = FileManager.default.createFile(atPath: emptyKnownHosts, contents: nil)
        #expect(upload(key: server.clientKey, knownHosts: emptyKnownHosts)?.kind == .hostKey)
        #expect(upload(key: server.clientKey, knownHosts: server.knownHosts, port: try SchedulingSupport.freePort())?.kind == .unreachable)
    }

    // MARK: Retention

    @Test("retention removes exactly what is older than the window, reports per table, and --dry-run removes nothing")
    func retention() throws {
        let (connection, _) = try Self.loadedDatabase([
            #"{"type":"channel","id":"ch-1","medium":"SMS","name":"sms"}"#,
            #"{"type":"agent","id":"ag-1","name":"A","kind":"HUMAN"}"#,
            #"{"type":"contact","id":"ct-1","medium":"SMS","created_at":"2024-01-01T00:00:00Z"}"#,
            #"{"type":"conversation","id":"cv-old","channel_id":"ch-1","contact_id":"ct-1","created_at":"2025-05-01T00:00:00Z"}"#,
            #"{"type":"conversation","id":"cv-alive","channel_id":"ch-1","contact_id":"ct-1","created_at":"2025-05-01T00:00:00Z"}"#,
            #"{"type":"conversation","id":"cv-new","channel_id":"ch-1","contact_id":"ct-1","created_at":"2025-05-29T00:00:00Z"}"#,
            #"{"type":"message","id":"m-old","conversation_id":"cv-old","created_at":"2025-05-28T23:59:59.999999Z","direction":"INBOUND"}"#,
            #"{"type":"message","id":"m-alive-old","conversation_id":"cv-alive","created_at":"2025-05-02T00:00:00Z","direction":"INBOUND"}"#,
            #"{"type":"message","id":"m-alive-new","conversation_id":"cv-alive","created_at":"2025-05-29T00:00:00Z","direction":"INBOUND"}"#,
            #"{"type":"status_change","id":"s-old","conversation_id":"cv-old","at":"2025-05-20T00:00:00Z","status":"PENDING"}"#,
            #"{"type":"status_change","id":"s-new","conversation_id":"cv-new","at":"2026-01-01T00:00:00Z","status":"PENDING"}"#,
            #"{"type":"queue_entry","id":"q-old","conversation_id":"cv-old","at":"2025-05-20T00:00:00Z","started_by":"CONTACT"}"#,
            #"{"type":"lock","id":"l-ended-old","conversation_id":"cv-old","agent_id":"ag-1","started_at":"2025-05-20T00:00:00Z","ended_at":"2025-05-20T01:00:00Z"}"#,
            #"{"type":"lock","id":"l-straddles","conversation_id":"cv-alive","agent_id":"ag-1","started_at":"2025-05-28T00:00:00Z","ended_at":"2025-05-29T01:00:00Z"}"#,
            #"{"type":"presence","id":"p-old","agent_id":"ag-1","presence":"AVAILABLE","started_at":"2025-05-01T00:00:00Z","ended_at":"2025-05-01T08:00:00Z"}"#,
            #"{"type":"presence","id":"p-ongoing","agent_id":"ag-1","presence":"AVAILABLE","started_at":"2025-05-01T00:00:00Z"}"#,
            #"{"type":"topic","id":"tp-1","name":"T"}"#,
            #"{"type":"topic_applied","id":"ta-old","conversation_id":"cv-old","topic_id":"tp-1","at":"2025-05-20T00:00:00Z"}"#,
            #"{"type":"tag","id":"tg-1","name":"G"}"#,
            #"{"type":"tag_applied","id":"ga-old","message_id":"m-old","tag_id":"tg-1","at":"2025-05-20T00:00:00Z"}"#,
            #"{"type":"tag_applied","id":"ga-new","message_id":"m-alive-new","tag_id":"tg-1","at":"2025-06-01T00:00:00Z"}"#,
            #"{"type":"csat","id":"cs-old","conversation_id":"cv-old","sent_at":"2025-05-21T00:00:00Z","status":"SENT"}"#,
        ])
        let before = try TestSupport.tableContents(connection)
        let dry = try Retention(connection: connection).apply(months: 18, dryRun: true, now: "2026-11-29T00:00:00Z")
        #expect(dry.cutoff == "2025-05-29T00:00:00.000000Z")
        #expect(try TestSupport.tableContents(connection) == before)
        let applied = try Retention(connection: connection).apply(months: 18, now: "2026-11-29T00:00:00Z")
        let expected = [
            "inbox.messages": 2, "inbox.status_changes": 1, "inbox.queue_entries": 1, "inbox.locks": 1, "inbox.presences": 1,
            "inbox.topic_applications": 1, "inbox.tag_applications": 1, "inbox.csat_surveys": 1, "inbox.conversations": 1,
            "warehouse.load_rejects": 0,
        ]
        #expect(Dictionary(uniqueKeysWithValues: dry.tables.map { ($0.table, $0.rows) }) == expected)
        #expect(Dictionary(uniqueKeysWithValues: applied.tables.map { ($0.table, $0.rows) }) == expected)
        #expect(applied.total == 10)

        func ids(_ sql: String) throws -> [String] { try connection.execute(sql).rows.map { $0[0] ?? "" } }
        #expect(try ids("select message_id from inbox.messages order by 1") == ["m-alive-new"])
        #expect(try ids("select conversation_id from inbox.conversations order by 1") == ["cv-alive", "cv-new"])
        #expect(try ids("select status_change_id from inbox.status_changes") == ["s-new"])
        #expect(try ids("select lock_id from inbox.locks") == ["l-straddles"])
        #expect(try ids("select presence_id from inbox.presences") == ["p-ongoing"])
        #expect(try ids("select tag_application_id from inbox.tag_applications") == ["ga-new"])
        #expect(try ids("select count(*) from inbox.queue_entries union all select count(*) from inbox.topic_applications union all select count(*) from inbox.csat_surveys") == ["0", "0", "0"])
        // Dimensions stay.
        #expect(try ids("select (select count(*) from inbox.channels) + (select count(*) from inbox.agents) + (select count(*) from inbox.contacts) + (select count(*) from inbox.topics) + (select count(*) from inbox.tags)") == ["5"])
        // A second pass finds nothing; exports refuse a range older than the same window.
        #expect(try Retention(connection: connection).apply(months: 18, now: "2026-11-29T00:00:00Z").total == 0)
        let old = ExportParameters(from: RangeBound("2025-05-28T23:00:00Z"), to: RangeBound("2025-06-01T00:00:00Z"), asOf: "2026-11-29T00:00:00Z")
        #expect(throws: WarehouseError.self) {
            try Exporter(connection: connection, schemaVersion: 3).resolve(old, for: [ExportType.named("messages")!])
        }
    }

    @Test("`retention apply` through the CLI prints per-table counts; --dry-run keeps the rows")
    func retentionCommand() throws {
        let (connection, url) = try Self.loadedDatabase()
        let dry = try SchedulingSupport.startCLI(["retention", "apply", "--database-url", url, "--months", "1", "--dry-run",
                                                  "--now", "2026-05-01T00:00:00Z"]).finish()
        #expect(dry.status == 0, "\(dry.error)")
        #expect(dry.output.contains("inbox.messages") && dry.error.contains("would remove"))
        #expect(try connection.execute("select count(*) from inbox.messages").scalar == "8")
        let real = try SchedulingSupport.startCLI(["retention", "apply", "--database-url", url, "--months", "1", "--json",
                                                   "--now", "2026-05-01T00:00:00Z"]).finish()
        #expect(real.status == 0)
        #expect(real.output.contains("\"table\" : \"inbox.messages\""))
        #expect(try connection.execute("select count(*) from inbox.messages").scalar == "0")
    }

    // MARK: The long-running scheduler

    @Test("`scheduler` runs what is due and stops cleanly on SIGTERM")
    func schedulerStopsOnSIGTERM() throws {
        let (connection, url) = try Self.loadedDatabase()
        let destination = try TestSupport.temporaryDirectory()
        // The previous complete day, now: due at once.
        let add = try SchedulingSupport.startCLI(["schedule", "add", "--database-url", url, "--name", "loop", "--type", "teams",
                                                  "--frequency", "daily", "--destination", destination.path]).finish()
        #expect(add.status == 0, "\(add.error)")
        let list = try SchedulingSupport.startCLI(["schedule", "list", "--database-url", url]).finish()
        #expect(list.output.contains("loop") && list.output.contains("teams"))
        let scheduler = try SchedulingSupport.startCLI(["scheduler", "--database-url", url, "--interval", "0.5", "--organization", "acme"])
        let ran = try SchedulingSupport.waitUntil(seconds: 30) {
            try connection.execute("select 1 from warehouse.export_jobs where state = 'succeeded'").rowCount > 0
        }
        #expect(ran, "scheduler stderr: \(scheduler.currentError)")
        let signalled = Date()
        scheduler.process.terminate()  // SIGTERM
        let result = scheduler.finish()
        #expect(result.status == 0, "\(result.error)")
        #expect(Date().timeIntervalSince(signalled) < 5)
        #expect(result.error.contains("stopped"))
        #expect(SchedulingSupport.tree(destination).count == 2)
        let remove = try SchedulingSupport.startCLI(["schedule", "remove", "loop", "--database-url", url]).finish()
        #expect(remove.status == 0)
        #expect(try connection.execute("select schedule_id is null, schedule_name from warehouse.export_jobs").rows == [["t", "loop"]])
    }
}

/// Lines collected from a log callback.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    func append(_ line: String) { lock.withLock { collected.append(line) } }
    var lines: [String] { lock.withLock { collected } }
}

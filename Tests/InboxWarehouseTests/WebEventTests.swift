import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
@testable import InboxWarehouseWeb

@Suite("Web server: events and progress")
struct WebEventTests {
    @Test("/events relays the database's notifications: a job finished by another process, and a running job's rows")
    func eventsComeFromTheDatabase() async throws {
        let site = try WebSite(loadingGolden: true)
        try await site.run { client in
            var viewer = Browser(client: client)
            #expect(try await viewer.login("victor", "victor-password").status == .seeOther)
            let events = try EventStreamReader(port: try #require(client.port), cookie: viewer.cookieHeader)
            defer { events.close() }
            try await events.waitFor("connected", seconds: 30)

            // An export by the command line, in another process, announced through NOTIFY.
            let output = try TestSupport.temporaryDirectory().appendingPathComponent("teams.csv").path
            let cli = try TestSupport.runCLI(["export", "teams", "--from", "2026-03-28", "--to", "2026-03-30", "--output", output],
                                             environment: ["DATABASE_URL": site.url])
            #expect(cli.status == 0, "\(cli.standardError)")
            let jobID = try await site.count("select max(job_id) from warehouse.export_jobs")
            let event = try await events.waitFor("\"job_id\":\(jobID),", seconds: 30)
            #expect(event.hasPrefix("event: job\ndata: {"))
            #expect(event.contains("\"state\":\"succeeded\""))
            #expect(event.contains("\"file_name\":\"teams.csv\""))

            // A running job's progress: stored on the row and relayed as `event: progress`.
            try await site.execute("""
                insert into warehouse.export_jobs (export_type, state, started_at) values ('messages', 'running', now())
                """)
            let runningID = try await site.count("select max(job_id) from warehouse.export_jobs")
            let notifier = ProgressNotifier(connect: { [url = site.url] in try Connection(conninfo: url) })
            defer { notifier.close() }
            notifier.report(jobID: runningID, rows: 2048)
            let progress = try await events.waitFor("event: progress", seconds: 30)
            #expect(progress == "event: progress\ndata: {\"job_id\":\(runningID),\"rows\":2048}")
            #expect(try await site.count("select rows from warehouse.export_jobs where job_id = \(runningID)") == 2048)
        }
    }

    @Test("/events needs a session")
    func eventsNeedASession() async throws {
        let site = try WebSite()
        try await site.run { client in
            var stranger = Browser(client: client)
            let response = try await stranger.get("/events")
            #expect(response.status == .forbidden)
        }
    }

    @Test("the exporter reports rows written while it writes, every 1024 rows at most once an interval")
    func exporterReportsProgress() throws {
        let (connection, _) = try TestSupport.freshDatabase()
        defer { connection.close() }
        let options = GeneratorOptions(conversations: 700, days: 5, start: GeneratorOptions.startDate(parsing: "2026-03-01")!,
                                       seed: 7, redeliveryFraction: 0)
        let (bytes, _) = try EventLogGenerator(options: options).generateBytes()
        let log = try TestSupport.writeLog(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
        _ = try Loader(connection: connection).load([.file(log)])
        let exporter = Exporter(connection: connection, schemaVersion: 1)
        exporter.progressInterval = 0
        let reports = ReportBox()
        exporter.progress = { reports.values.append($0) }
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("messages.csv").path
        let manifest = try #require(try exporter.export(ExportType.named("messages")!,
                                                        ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-03-05")), to: path))
        #expect(manifest.rows > 2048, "enough rows for two reports")
        #expect(reports.values == Array(stride(from: 1024, through: manifest.rows, by: 1024)))
    }
}

final class ReportBox: @unchecked Sendable {
    var values: [Int] = []
}

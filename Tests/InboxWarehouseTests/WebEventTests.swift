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

    @Test("a page that opens its stream after its job finished still hears of it: /events replays the job asked for and those finished since the page")
    func eventsReplayWhatThePageMissed() async throws {
        let site = try WebSite(loadingGolden: true)
        try await site.run { client in
            var admin = Browser(client: client)
            #expect(try await admin.login("alice", "alice-password").status == .seeOther)
            let before = try await admin.get("/exports/on-demand")
            let since = try #require(Self.attribute("data-since", in: before.text))
            let form = WebServerTests.exportForm(type: "teams").merging(["csrf_token": try admin.csrfToken(in: before.text)]) { $1 }
            let created = try await admin.post("/exports/on-demand", form)
            let location = try #require(created.headers[.location])
            let jobID = try #require(Int64(location.split(separator: "=").last ?? ""))
            let page = try await admin.get(location)
            #expect(Self.attribute("data-watch-job", in: page.text) == String(jobID))
            for _ in 0..<600 where try await site.count("select count(*) from warehouse.export_jobs where state = 'succeeded'") == 0 {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let port = try #require(client.port)
            for query in ["?job=\(jobID)", "?since=\(since)"] {
                let events = try EventStreamReader(port: port, cookie: admin.cookieHeader, path: "/events" + query)
                defer { events.close() }
                let event = try await events.waitFor("\"job_id\":\(jobID),", seconds: 30)
                #expect(event.hasPrefix("event: job\ndata: {"), "\(query)")
                #expect(event.contains("\"state\":\"succeeded\""), "\(query)")
            }
            // Nothing is replayed without a reason: the stream opens with `connected` only.
            let quiet = try EventStreamReader(port: port, cookie: admin.cookieHeader)
            defer { quiet.close() }
            try await quiet.waitFor("connected", seconds: 30)
            try await Task.sleep(nanoseconds: 300_000_000)
            #expect(quiet.text == "retry: 3000\n: connected\n\n")
        }
    }

    static func attribute(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "\(name)=\""), let end = html[range.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(html[range.upperBound..<end])
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

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InboxWarehouseWeb
import PostgresLibPQ
import Testing
@testable import InboxWarehouse

@Suite("Web server: schedules, languages, serve and users commands")
struct WebScheduleTests {
    @Test("the Scheduled tab creates one schedule per type, runs, lists the last file for download, pauses, resumes, deletes")
    func schedulesFromThePage() async throws {
        let site = try WebSite(loadingGolden: true)
        try await site.run { client in
            var admin = Browser(client: client)
            #expect(try await admin.login("alice", "alice-password").status == .seeOther)
            let page = try await admin.get("/exports/scheduled")
            #expect(page.text.contains("id=\"schedule-form\""))
            let token = try admin.csrfToken(in: page.text)

            // Refused with the scheduler's own message: an SFTP delivery without an sftp:// URL.
            let bad = try await admin.post("/exports/scheduled", ["csrf_token": token, "name": "paris", "export_type": "teams",
                                                                    "frequency": "daily", "time_zone": "Europe/Paris", "delivery": "sftp",
                                                                    "destination": "/tmp/somewhere"])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("id=\"form-error\""))

            // Two types: two schedules, named after the type. The browser sends the multiple select as repeated fields.
            let created = try await admin.postPairs("/exports/scheduled", [
                ("csrf_token", token), ("name", "paris"), ("export_type", "teams"), ("export_type", "tags"),
                ("frequency", "daily"), ("time_zone", "europe/paris"), ("delivery", "keep"),
            ])
            #expect(created.status == .seeOther)
            #expect(created.headers[.location] == "/exports/scheduled?created=1")
            let schedules = try await site.rows("select name || ' ' || export_type || ' ' || time_zone from warehouse.export_schedules order by name")
            #expect(schedules == ["paris-tags tags Europe/Paris", "paris-teams teams Europe/Paris"])

            // One run of the due periods (what the scheduler loop does every interval): a new
            // schedule's first period is the previous complete one, due at once.
            let files = try await site.runDue()
            #expect(files.count == 2)
            let listed = try await admin.get("/exports/scheduled")
            let teamsID = try await site.count("select schedule_id from warehouse.export_schedules where name = 'paris-teams'")
            let lastJob = try await site.count("select max(job_id) from warehouse.export_jobs where schedule_name = 'paris-teams' and state = 'succeeded'")
            #expect(listed.text.contains("<tr data-schedule-id=\"\(teamsID)\" data-enabled=\"true\">"))
            #expect(listed.text.contains("href=\"/exports/jobs/\(lastJob)/download\""))
            let download = try await admin.get("/exports/jobs/\(lastJob)/download")
            #expect(download.status == .ok)
            let path = try #require(try await site.rows("select file_path from warehouse.export_jobs where job_id = \(lastJob)").first)
            #expect(Data(buffer: download.body) == (try Data(contentsOf: URL(fileURLWithPath: path))))
            #expect(path.hasPrefix(site.directory + "/scheduled/teams/"))

            #expect(try await admin.post("/exports/scheduled/\(teamsID)/pause", ["csrf_token": token]).status == .seeOther)
            #expect(try await admin.get("/exports/scheduled").text.contains("<tr data-schedule-id=\"\(teamsID)\" data-enabled=\"false\">"))
            #expect(try await admin.post("/exports/scheduled/\(teamsID)/resume", ["csrf_token": token]).status == .seeOther)
            #expect(try await site.rows("select is_enabled::text from warehouse.export_schedules where schedule_id = \(teamsID)") == ["true"])
            #expect(try await admin.post("/exports/scheduled/\(teamsID)/delete", ["csrf_token": "nope"]).status == .forbidden)
            #expect(try await admin.post("/exports/scheduled/\(teamsID)/delete", ["csrf_token": token]).status == .seeOther)
            #expect(try await site.rows("select name from warehouse.export_schedules") == ["paris-tags"])
            #expect(try await admin.post("/exports/scheduled/\(teamsID)/delete", ["csrf_token": token]).status == .notFound)

            // A viewer sees the list and the files, not the form, and may not pause.
            var viewer = Browser(client: client)
            #expect(try await viewer.login("victor", "victor-password").status == .seeOther)
            let viewerPage = try await viewer.get("/exports/scheduled")
            #expect(!viewerPage.text.contains("id=\"schedule-form\""))
            let tagsID = try await site.count("select schedule_id from warehouse.export_schedules where name = 'paris-tags'")
            let viewerToken = try viewer.csrfToken(in: viewerPage.text)
            #expect(try await viewer.post("/exports/scheduled/\(tagsID)/pause", ["csrf_token": viewerToken]).status == .forbidden)
        }
    }

    @Test("English or French: Accept-Language, then the switch's cookie; the export header language follows")
    func languages() async throws {
        let site = try WebSite()
        try await site.run { client in
            var browser = Browser(client: client)
            let french = try await browser.get("/login", headers: [.acceptLanguage: "fr-CA,fr;q=0.9,en;q=0.5"])
            #expect(french.text.contains("<html lang=\"fr\">"))
            #expect(french.text.contains("Se connecter"))
            let english = try await browser.get("/login", headers: [.acceptLanguage: "de, en-GB;q=0.8, fr;q=0.2"])
            #expect(english.text.contains("<html lang=\"en\">"))

            let switched = try await browser.get("/language?lang=fr&back=/login")
            #expect(switched.status == .seeOther)
            #expect(switched.headers[.location] == "/login")
            #expect(switched.setCookies.contains { $0.hasPrefix("iw_lang=fr") })
            #expect(try await browser.get("/login", headers: [.acceptLanguage: "en"]).text.contains("<html lang=\"fr\">"))
            // Never a redirect to another site.
            #expect(try await browser.get("/language?lang=fr&back=//evil.example/").headers[.location] == "/exports/on-demand")

            #expect(try await browser.login("alice", "alice-password").status == .seeOther)
            let page = try await browser.get("/exports/on-demand")
            #expect(page.text.contains("Générer l&#39;export"))
            #expect(page.text.contains("<option value=\"fr\" selected>Français</option>"))
        }
    }

    @Test("behind a trusted proxy: its user header logs in an existing account with its role; X-Forwarded-Proto https makes cookies Secure")
    func trustedProxy() async throws {
        let site = try WebSite(trustedUserHeader: "X-Remote-User")
        try await site.run { client in
            var browser = Browser(client: client)
            let viewer = try await browser.get("/exports/on-demand", headers: [HTTPField.Name("X-Remote-User")!: "victor"])
            #expect(viewer.status == .ok)
            #expect(viewer.text.contains("data-role=\"viewer\""))
            #expect(!viewer.text.contains("id=\"export-form\""))
            let admin = try await browser.get("/exports/on-demand", headers: [HTTPField.Name("X-Remote-User")!: "alice"])
            #expect(admin.text.contains("id=\"export-form\""))
            // The header user's forms carry a token of their own; without it, 403.
            let token = try browser.csrfToken(in: admin.text)
            var headers: HTTPFields = [HTTPField.Name("X-Remote-User")!: "alice", .contentType: "application/x-www-form-urlencoded"]
            let refused = try await client.execute(uri: "/exports/on-demand", method: .post, headers: headers,
                                                   body: ByteBuffer(string: "export_type=teams&from=2026-03-28&to=2026-03-30"))
            #expect(refused.status == .forbidden)
            let accepted = try await client.execute(uri: "/exports/on-demand", method: .post, headers: headers,
                                                    body: ByteBuffer(string: "export_type=teams&from=2026-03-28&to=2026-03-30&csrf_token=\(token)"))
            #expect(accepted.status == .seeOther)
            #expect(try await site.rows("select requested_by from warehouse.export_jobs") == ["alice"])
            // An unknown name is not logged in.
            headers[HTTPField.Name("X-Remote-User")!] = "mallory"
            let unknown = try await client.execute(uri: "/exports/on-demand", method: .get, headers: headers)
            #expect(unknown.status == .seeOther)
            #expect(unknown.headers[.location] == "/login")
            // HTTPS as the trusted proxy says: Secure cookies (auto).
            let secure = try await client.execute(uri: "/login", method: .get, headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(secure.headers[values: .setCookie].allSatisfy { $0.hasSuffix("; Secure") })
            let plain = try await client.execute(uri: "/login", method: .get)
            #expect(plain.headers[values: .setCookie].allSatisfy { !$0.contains("Secure") })
        }
        // Without a trusted proxy, the header is nobody and X-Forwarded-Proto is not believed.
        let plainSite = try WebSite()
        try await plainSite.run { client in
            let page = try await client.execute(uri: "/exports/on-demand", method: .get, headers: [HTTPField.Name("X-Remote-User")!: "alice"])
            #expect(page.status == .seeOther)
            let login = try await client.execute(uri: "/login", method: .get, headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(login.headers[values: .setCookie].allSatisfy { !$0.contains("Secure") })
        }
    }

    @Test("serve prints its address first, serves, and stops on SIGTERM with status 0; users add reads the password from stdin")
    func serveAndUsersCommands() throws {
        let url = try TestServer.shared.makeDatabase()
        let environment = ["DATABASE_URL": url]
        let add = try Self.runWithInput(["users", "add", "carol", "--role", "admin"], input: "carol-password\n", environment: environment)
        #expect(add.status == 0, "\(add.error)")
        let short = try Self.runWithInput(["users", "add", "dave", "--role", "viewer"], input: "short\n", environment: environment)
        #expect(short.status == 1)
        #expect(short.error.contains("at least 8 characters"))
        let list = try TestSupport.runCLI(["users", "list"], environment: environment)
        #expect(list.standardOutput.hasPrefix("carol\tadmin\t"))
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        let hash = try connection.execute("select password_hash from web.users where name = 'carol'").scalar ?? ""
        #expect(hash.hasPrefix("$2a$10$") && !hash.contains("carol-password"))

        let directory = try TestSupport.temporaryDirectory()
        let process = Process()
        process.executableURL = TestSupport.executable
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--no-scheduler", "--exports-dir", directory.path]
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = url
        env["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.cliSQLDirectory
        process.environment = env
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let first = String(decoding: line, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.range(of: "^listening on http://127\\.0\\.0\\.1:[0-9]+$", options: .regularExpression) != nil, "\(first)")
        let address = first.replacingOccurrences(of: "listening on ", with: "")
        let login = try Data(contentsOf: URL(string: address + "/login")!)
        #expect(String(decoding: login, as: UTF8.self).contains("id=\"login-form\""))

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)

        let removed = try TestSupport.runCLI(["users", "remove", "carol"], environment: environment)
        #expect(removed.status == 0)
        #expect(try TestSupport.runCLI(["users", "remove", "carol"], environment: environment).status == 1)
    }

    static func runWithInput(_ arguments: [String], input: String, environment: [String: String]) throws -> (status: Int32, error: String) {
        let process = Process()
        process.executableURL = TestSupport.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        env["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.cliSQLDirectory
        process.environment = env
        let stdin = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: error, as: UTF8.self))
    }
}

extension Browser {
    /// A POST with repeated names (a multiple select).
    mutating func postPairs(_ path: String, _ pairs: [(String, String)]) async throws -> Page {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
        return try await postRaw(path, body)
    }
}

extension WebSite {
    func rows(_ sql: String) async throws -> [String] {
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        let result = try connection.execute(sql)
        return (0..<result.rowCount).map { result.value($0, 0) ?? "" }
    }

    /// What the scheduler loop does once: returns the files written.
    func runDue() async throws -> [String] {
        let connection = try Connection(conninfo: url)
        defer { connection.close() }
        let report = try JobRunner(connection: connection, schemaVersion: server.configuration.schemaVersion).runDue()
        return report.outcomes.compactMap(\.filePath)
    }
}

import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

extension ReliabilityTests {
    @Suite("Reliability: hostile parameters and connection faults")
    struct Hostile {
        /// SQL metacharacters and injection attempts. Each would leave a trace if it ran as SQL:
        /// the canary table dropped or changed, a table `pwned` created, a file written, a sleep.
        static let payloads: [String] = [
            "'; drop table public.canary; --",
            "\"; drop table public.canary; --",
            "x' or '1'='1",
            "$1",
            "$$; drop table public.canary; $$",
            "\\'; drop table public.canary; --",
            "1); create table public.pwned (x int); --",
            "UTC'; select pg_sleep(10); --",
            "'||(select pg_sleep(10))||'",
            "x\n; delete from public.canary; --",
            "ʼ; truncate public.canary; --",
            "E'\\x27'; update public.canary set n = 0; --",
            "'); copy public.canary to program 'touch /tmp/iw-pwned'; --",
            "Europe/Paris'); insert into public.canary values (666); --",
            "{\"a\",\"b\"}",
            "%s%n%x",
            "' union select usename, passwd from pg_shadow --",
            "*/ drop table public.canary; /*",
        ]

        /// What must not change: the canary rows, the catalog (tables, functions, roles), the data.
        static func fingerprint(_ connection: Connection) throws -> [String] {
            var rows: [String] = []
            for sql in [
                "select coalesce(string_agg(n::text, ',' order by n), '') from public.canary",
                """
                select count(*)::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where c.relpersistence <> 't' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
                """,
                "select coalesce(string_agg(relname, ',' order by relname), '') from pg_class where relname in ('pwned', 'canary')",
                "select count(*)::text from pg_proc",
                "select string_agg(rolname, ',' order by rolname) from pg_roles",
                "select (select count(*) from inbox.messages)::text || '/' || (select count(*) from inbox.channels) || '/' || (select count(*) from warehouse.load_rejects)",
            ] {
                rows.append(try connection.execute(sql).scalar ?? "")
            }
            return rows
        }

        @Test("SQL metacharacters in every string parameter are rejected or kept as plain data; nothing else runs")
        func hostileParameters() throws {
            let (connection, url) = try TestSupport.freshDatabase()
            let evilChannel = "ch-'); drop table public.canary; --"
            let log = ReliabilityLog.lines(conversations: 0..<40, seed: 5) + [
                #"{"type":"channel","id":"ch-'); drop table public.canary; --","medium":"SMS","name":"evil \"name\"; select 1"}"#,
                #"{"type":"conversation","id":"cv-evil","channel_id":"ch-'); drop table public.canary; --","contact_id":"ct-0-0","created_at":"2026-03-02T09:00:00Z"}"#,
                #"{"type":"message","id":"m-evil","conversation_id":"cv-evil","created_at":"2026-03-02T09:00:00Z","direction":"INBOUND"}"#,
            ]
            #expect(try Loader(connection: connection).load([.file(try TestSupport.writeLog(log))]).rejected == 0)
            try connection.execute("create table public.canary (n int)")
            try connection.execute("insert into public.canary select generate_series(1, 5)")
            let before = try Self.fingerprint(connection)
            let environment = ["DATABASE_URL": url]
            let work = try TestSupport.temporaryDirectory()
            let range = ["--from", "2026-03-01", "--to", "2026-03-31", "--as-of", "2026-04-01T00:00:00Z"]
            let payloads = Reliability.isFull ? Self.payloads : Array(Self.payloads.prefix(10))
            var tried = 0, slowest = 0.0

            func run(_ arguments: [String], env: [String: String]? = nil, expect allowed: Set<Int32>, _ label: String) throws -> (Int32?, String) {
                let result = try runCLI(arguments, environment: env ?? environment, timeout: 60)
                tried += 1
                slowest = max(slowest, result.seconds)
                #expect(result.status.map(allowed.contains) == true, "\(label): exit \(String(describing: result.status)): \(result.standardError)")
                #expect(result.seconds < 8, "\(label) took \(result.seconds) s (a sleep ran?)")
                return (result.status, result.standardError)
            }

            for (index, payload) in payloads.enumerated() {
                let out = work.appendingPathComponent("o\(index).csv").path
                // Export parameters.
                _ = try run(["export", payload] + range + ["--output", out], expect: [64], "type \(payload)")
                let (_, tzError) = try run(["export", "messages"] + range + ["--tz", payload, "--output", out], expect: [1], "tz \(payload)")
                #expect(tzError.contains("unknown time zone"), "\(tzError)")
                let (_, channelError) = try run(["export", "messages"] + range + ["--channel", payload, "--output", out], expect: [1], "channel \(payload)")
                #expect(channelError.contains("unknown channel id"), "\(channelError)")
                _ = try run(["export", "messages", "--from", payload, "--to", "2026-03-31", "--output", out], expect: [64], "from \(payload)")
                _ = try run(["export", "messages", "--from", "2026-03-01", "--to", payload, "--output", out], expect: [64], "to \(payload)")
                let (_, asOfError) = try run(["export", "messages", "--from", "2026-03-01", "--to", "2026-03-31", "--as-of", payload, "--output", out], expect: [64], "as-of \(payload)")
                #expect(asOfError.contains("invalid for '--as-of <timestamp>'"), "\(asOfError)")
                _ = try run(["export", "messages"] + range + ["--header-locale", payload, "--output", out], expect: [64], "locale \(payload)")
                _ = try run(["export", "messages"] + range + ["--content-policy", payload, "--output", out], expect: [64], "policy \(payload)")
                var policyEnvironment = environment
                policyEnvironment["INBOX_WAREHOUSE_CONTENT_POLICY"] = payload
                _ = try run(["export", "messages"] + range + ["--output", out], env: policyEnvironment, expect: [64], "policy env \(payload)")
                #expect(!FileManager.default.fileExists(atPath: out))
                _ = try run(["load", "--batch-lines", payload, "x.ndjson"], expect: [64], "batch-lines \(payload)")
                // Database URL pieces: a database, a user, an application name, a host.
                let dbName = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "x"
                var parts = try #require(URLComponents(string: url))
                parts.path = "/" + payload
                let (_, dbError) = try run(["db", "migrate", "--database-url", parts.url?.absoluteString ?? "postgresql:///\(dbName)"], expect: [1], "dbname \(payload)")
                #expect(dbError.contains("could not connect") || dbError.contains("does not exist"), "\(dbError)")
                parts = try #require(URLComponents(string: url))
                parts.user = payload
                _ = try run(["db", "migrate", "--database-url", parts.string ?? url], expect: [1], "user \(payload)")
                _ = try run(["export", "messages"] + range + ["--output", out, "--database-url", url + "&application_name=" + dbName], expect: [0], "application_name \(payload)")
                try? FileManager.default.removeItem(atPath: out)
                try? FileManager.default.removeItem(atPath: out + ".manifest.json")
                _ = try run(["db", "migrate", "--database-url", "host=\(payload.replacingOccurrences(of: "'", with: "\\'")) connect_timeout=2"], expect: [1], "host \(payload)")
                // The connect timeout is read as a number, never spliced into the connection string.
                var timeoutEnvironment = environment
                timeoutEnvironment["INBOX_WAREHOUSE_CONNECT_TIMEOUT"] = "2 " + payload
                _ = try run(["db", "migrate"], env: timeoutEnvironment, expect: [0, 1], "connect timeout \(payload)")

                // Paths are plain data: files with these names are read and written as named.
                let safeName = payload.replacingOccurrences(of: "/", with: "∕").replacingOccurrences(of: "\n", with: " ")
                let dataDirectory = work.appendingPathComponent("d\(index)")
                try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
                let input = dataDirectory.appendingPathComponent(safeName + ".ndjson")
                try ReliabilityLog.write(Array(log.suffix(3)), to: input)
                let rejects = dataDirectory.appendingPathComponent(safeName + ".rejects")
                _ = try run(["load", "--quiet", "--rejects", rejects.path, input.path], expect: [0], "load path \(payload)")
                #expect(FileManager.default.fileExists(atPath: rejects.path))
                #expect(try connection.execute("select count(*) from warehouse.loads where source = $1 and status = 'succeeded'", [input.path]).scalar == "1")
                let exported = dataDirectory.appendingPathComponent(safeName + ".csv")
                _ = try run(["export", "messages"] + range + ["--output", exported.path], expect: [0], "output path \(payload)")
                #expect(FileManager.default.fileExists(atPath: exported.path) && FileManager.default.fileExists(atPath: exported.path + ".manifest.json"))
                let outputDirectory = dataDirectory.appendingPathComponent(safeName + " dir")
                _ = try run(["export", "--all", "--quiet"] + range + ["--output-dir", outputDirectory.path], expect: [0], "output-dir \(payload)")
                #expect(directoryListing(outputDirectory).count == 24)
            }
            // A channel id full of SQL is a filter value like any other.
            let filtered = work.appendingPathComponent("evil.csv").path
            _ = try run(["export", "messages"] + range + ["--channel", evilChannel, "--output", filtered], expect: [0], "existing evil channel")
            let rows = try String(contentsOfFile: filtered, encoding: .utf8).split(separator: "\n")
            #expect(rows.count == 2 && rows[1].hasPrefix("m-evil,"), "\(rows)")
            // The export type set by the command cannot name anything else.
            _ = try run(["export", "../../etc/passwd"] + range + ["--output", filtered], expect: [64], "type path")

            let after = try Self.fingerprint(connection)
            #expect(after[0] == before[0], "the canary changed")
            #expect(after[1] == before[1] && after[2] == "canary", "tables were created or dropped: \(after)")
            #expect(after[3] == before[3], "functions were created")
            #expect(after[4] == before[4], "roles changed")
            #expect(after[5] == before[5], "data changed")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/iw-pwned"))
            Reliability.figure("hostile parameters: \(payloads.count) payloads x \(tried / max(payloads.count, 1)) parameters = \(tried) CLI runs (export type, --tz, --channel, --from, --to, --as-of, --header-locale, --content-policy and its env, --batch-lines, URL dbname/user/application_name/host, connect timeout env, load and rejects paths, --output, --output-dir); canary, catalog, roles and data unchanged; slowest run \(String(format: "%.1f", slowest)) s")
        }

        @Test("--all writes only <slug>.csv and manifests inside the output directory, replacing planted symlinks, never following them")
        func outputDirectoryConfinement() throws {
            let (connection, url) = try TestSupport.freshDatabase()
            #expect(try Loader(connection: connection).load([.file(try TestSupport.writeLog(ReliabilityLog.lines(conversations: 0..<30, seed: 8)))]).rejected == 0)
            let parent = try TestSupport.temporaryDirectory()
            let outside = parent.appendingPathComponent("outside.txt")
            try Data("do not touch\n".utf8).write(to: outside)
            let directory = parent.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // Symlinks planted under the final names point outside.
            for slug in ["messages", "contacts"] {
                try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("\(slug).csv").path, withDestinationPath: outside.path)
                try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("\(slug).csv.manifest.json").path, withDestinationPath: outside.path)
            }
            let result = try runCLI(["export", "--all", "--quiet", "--from", "2026-03-01", "--to", "2026-03-31", "--as-of", "2026-04-01T00:00:00Z",
                                     "--output-dir", directory.path], environment: ["DATABASE_URL": url])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(try String(contentsOf: outside, encoding: .utf8) == "do not touch\n")
            #expect(directoryListing(parent) == ["out", "outside.txt"])
            let expected = ExportType.all.flatMap { ["\($0.slug).csv", "\($0.slug).csv.manifest.json"] }.sorted()
            #expect(directoryListing(directory) == expected)
            for name in expected {
                let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
                #expect(attributes[.type] as? FileAttributeType == .typeRegular, "\(name)")
            }
            #expect(ExportType.all.allSatisfy { $0.slug.allSatisfy { $0.isLowercase || $0 == "-" } })
        }

        /// A TCP port on 127.0.0.1 that accepts connections (the kernel completes the handshake)
        /// but never answers: the listening socket is never accepted from.
        static func silentPort() throws -> (descriptor: Int32, port: Int) {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(descriptor >= 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
            try #require(bound == 0)
            try #require(listen(descriptor, 16) == 0)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
            return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
        }

        @Test("an unreachable or silent server is a clear error within the connect timeout, and passwords never appear in errors")
        func connectionFaults() throws {
            let (descriptor, port) = try Self.silentPort()
            defer { close(descriptor) }
            let password = "S3cr3t-Pa55w0rd"
            let log = try TestSupport.writeLog(ReliabilityLog.lines(conversations: 0..<2, seed: 1))
            var figures: [String] = []
            // The silent server: the timeout from the environment, then from the URL.
            let cases: [(String, [String: String], String)] = [
                ("env INBOX_WAREHOUSE_CONNECT_TIMEOUT=2", ["INBOX_WAREHOUSE_CONNECT_TIMEOUT": "2"], "postgresql://warehouse:\(password)@127.0.0.1:\(port)/inbox"),
                ("URL connect_timeout=3", [:], "postgresql://warehouse:\(password)@127.0.0.1:\(port)/inbox?connect_timeout=3"),
                ("keyword string, connect_timeout=2", [:], "host=127.0.0.1 port=\(port) user=warehouse password='\(password)' connect_timeout=2"),
            ]
            for (label, environment, url) in cases {
                let timeout = url.contains("connect_timeout=3") ? 3.0 : 2.0
                // Every command in full mode; in CI every command for the first case, then `load`.
                let commands = [["load", log], ["export", "messages", "--from", "2026-03-01", "--to", "2026-03-02", "--output", "/tmp/never.csv"], ["db", "migrate"]]
                for command in (Reliability.isFull || label == cases[0].0 ? commands : [commands[0]]) {
                    let result = try runCLI(command + ["--database-url", url], environment: environment, timeout: 60)
                    #expect(result.status == 1, "\(label) \(command[0]): \(result.standardError)")
                    #expect(result.seconds >= timeout - 0.5 && result.seconds < timeout + 4, "\(label) \(command[0]): \(result.seconds) s")
                    #expect(result.standardError.hasPrefix("inbox-warehouse: error: could not connect to PostgreSQL"), "\(result.standardError)")
                    #expect(result.standardError.contains("timeout"), "\(result.standardError)")
                    #expect(!result.standardError.contains(password) && !result.standardOutput.contains(password))
                    if command[0] == "load" { figures.append("\(label): \(String(format: "%.1f", result.seconds)) s") }
                }
            }
            // Nothing listens: refused at once, with the same clear message and no password.
            let closed = try Self.silentPort()
            close(closed.descriptor)
            let refused = try runCLI(["load", log, "--database-url", "postgresql://warehouse:\(password)@127.0.0.1:\(closed.port)/inbox"], timeout: 60)
            #expect(refused.status == 1)
            #expect(refused.seconds < 5)
            #expect(refused.standardError.contains("could not connect to PostgreSQL") && refused.standardError.contains("refused"), "\(refused.standardError)")
            #expect(!refused.standardError.contains(password))
            // `db url` shows the configured URL with the password masked.
            let shown = try runCLI(["db", "url", "--database-url", "postgresql://warehouse:\(password)@127.0.0.1:\(port)/inbox"])
            #expect(shown.status == 0 && shown.standardOutput.contains("****") && !shown.standardOutput.contains(password))
            figures.append("refused: \(String(format: "%.1f", refused.seconds)) s")
            Reliability.figure("connection faults: silent TCP server -> exit 1 after \(figures.joined(separator: ", ")); no password in any output")
        }
    }
}

import ArgumentParser
import Foundation
import InboxWarehouse
import PostgresLibPQ

extension InboxWarehouseCommand {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "See it work: generate a realistic month, load it, and write all twelve exports.",
            discussion: """
                On the embedded cluster (nothing to set up), in a database of its own \
                (inbox_warehouse_demo, recreated on every run, so your data is never touched): \
                generates a month of inbox traffic (March 2026, fixed seed), loads it, exports the \
                twelve CSVs for that month in --tz, and prints where they are. The same options \
                give the same files.

                Examples:
                  inbox-warehouse demo
                  inbox-warehouse demo --output-dir /tmp/demo --tz America/New_York --conversations 20000
                """)

        @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where to write the CSVs.", valueName: "dir"))
        var outputDirectory = "demo-exports"

        @Option(help: "Conversations to generate for the month.")
        var conversations = 3000

        @Option(help: ArgumentHelp("Time zone of the exports.", valueName: "zone"))
        var tz = "Europe/Paris"

        @Option(name: .customLong("database-url"),
                help: ArgumentHelp("Run the demo in this (empty, disposable) database instead of the embedded cluster's demo database.", valueName: "url"))
        var databaseURL: String?

        func validate() throws {
            if conversations < 1 || conversations > 10_000_000 { throw ValidationError("--conversations must be from 1 to 10000000") }
        }

        func run() throws {
            try reportingErrors {
                let started = Date()
                let connection: Connection
                if let databaseURL {
                    connection = try DatabaseTarget.url(databaseURL).connect()
                } else {
                    let cluster = EmbeddedCluster(home: EmbeddedCluster.defaultHome())
                    try cluster.ensureRunning()
                    let admin = try Connection(conninfo: cluster.url(database: "postgres"))
                    try admin.execute("drop database if exists inbox_warehouse_demo")
                    admin.close()
                    try cluster.ensureDatabase(named: "inbox_warehouse_demo")
                    connection = try Connection(conninfo: cluster.url(database: "inbox_warehouse_demo"))
                }
                let report = try Migrator(resources: try SQLResources.bundled()).migrate(connection)

                // 1. Generate a month of traffic into a temporary file.
                let log = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-warehouse-demo-\(getpid()).ndjson")
                defer { try? FileManager.default.removeItem(at: log) }
                let options = GeneratorOptions(conversations: conversations, days: 31,
                                               start: GeneratorOptions.startDate(parsing: "2026-03-01")!, seed: 2026,
                                               redeliveryFraction: 0.02)
                FileManager.default.createFile(atPath: log.path, contents: nil)
                let handle = try FileHandle(forWritingTo: log)
                let stats = try EventLogGenerator(options: options).write { chunk in handle.write(Data(chunk)) }
                try handle.close()
                let generated = Date()
                printStatus("generated \(stats.lines) records (\(stats.conversations) conversations, March 2026) in \(seconds(since: started))")

                // 2. Load it.
                let summary = try Loader(connection: connection).load([.file(log.path)])
                let loaded = Date()
                printStatus("loaded \(summary.loaded) records (\(summary.rejected) rejected) in \(seconds(since: generated))")

                // 3. Export all twelve for the month.
                let parameters = ExportParameters(from: RangeBound("2026-03-01"), to: RangeBound("2026-03-31"), timeZone: tz,
                                                  asOf: Instant("2026-04-02T00:00:00Z"))
                let manifests = try JobRunner(connection: connection, schemaVersion: report.schemaVersion)
                    .run(.all(parameters, into: outputDirectory)).manifests
                printStatus("exported in \(seconds(since: loaded)):")
                for manifest in manifests {
                    printStatus("  \(manifest.type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(manifest.rows).leftPadded(8)) rows  \(outputDirectory)/\(manifest.file)")
                }
                // 4. What business hours do to First Response Time (business-hours.md).
                let firstResponses = try BusinessHoursSummary.read(connection, from: "2026-03-01", to: "2026-03-31", timeZone: tz,
                                                            asOf: "2026-04-02T00:00:00Z")
                printStatus("First Response Time of the conversations resolved in March, mean per channel (business hours / calendar):")
                for channel in firstResponses.channels {
                    let hours = channel.timeZone.map { "business hours in \($0)" } ?? "no business hours"
                    let business = channel.averageBusinessSeconds.map { minutes($0) } ?? "-"
                    let calendar = channel.averageCalendarSeconds.map { minutes($0) } ?? "-"
                    printStatus("  \(channel.channelID.padding(toLength: 10, withPad: " ", startingAt: 0)) \(business.leftPadded(9)) / \(calendar.leftPadded(9))  (\(channel.conversations) conversations, \(hours))")
                }
                printStatus("done in \(seconds(since: started)); the CSVs are in \(outputDirectory)/")
                if databaseURL == nil {
                    printStatus("explore the data: psql \"\(EmbeddedCluster(home: EmbeddedCluster.defaultHome()).url(database: "inbox_warehouse_demo"))\"")
                }
            }
        }

        private func minutes(_ seconds: Int) -> String {
            String(format: "%.1f min", Double(seconds) / 60)
        }

        private func seconds(since date: Date) -> String {
            String(format: "%.1f s", Date().timeIntervalSince(date))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

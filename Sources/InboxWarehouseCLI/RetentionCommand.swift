import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct RetentionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retention",
            abstract: "Remove data older than the retention window.",
            subcommands: [Apply.self])
    }
}

extension InboxWarehouseCommand.RetentionCommand {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete every event older than --months months (by record time), in one transaction.",
            discussion: """
                Record time: messages created_at, status changes changed_at, queue entries \
                queued_at, tag and topic applications applied_at, CSAT surveys sent_at, locks and \
                presence intervals ended_at (ongoing ones are kept), conversations created_at once \
                nothing of them is left in the window, load rejects their load's start. Channels, \
                agents, teams, contacts, topics and tags are kept. Exports refuse ranges older than \
                the same window (--retention-months).

                Example:
                  inbox-warehouse retention apply --months 18 --dry-run
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The window, in calendar months counted back from now (UTC).")
        var months = 18

        @Flag(name: .customLong("dry-run"), help: "Report what would be removed; remove nothing.")
        var dryRun = false

        @Option(help: ArgumentHelp("Count the window back from this moment (RFC 3339) instead of now.", valueName: "timestamp"))
        var now: Instant?

        @Flag(help: "Print a JSON report on standard output.")
        var json = false

        func validate() throws {
            if months < 1 { throw ValidationError("--months must be positive") }
        }

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                let report = try Retention(connection: database).apply(months: months, dryRun: dryRun, now: now)
                if json {
                    print(try sortedJSONText(report))
                    return
                }
                var rows = [["TABLE", dryRun ? "WOULD REMOVE" : "REMOVED", "RECORD TIME"]]
                for table in report.tables { rows.append([table.table, String(table.rows), table.recordTime]) }
                print(columnsText(rows), terminator: "")
                printStatus("\(dryRun ? "would remove" : "removed") \(report.total) rows older than \(report.cutoff) (\(months) months)")
            }
        }
    }
}

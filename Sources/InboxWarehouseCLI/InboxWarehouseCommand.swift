import ArgumentParser
import Foundation
import InboxWarehouse
import Logging

@main
struct InboxWarehouseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox-warehouse",
        abstract: "A reporting warehouse for social customer-service inboxes, on PostgreSQL.",
        discussion: """
            Loads an inbox event log (NDJSON) into PostgreSQL and writes the twelve Inbox 2.0 \
            exports as CSV. Without --database-url or DATABASE_URL it uses a private PostgreSQL \
            cluster under $INBOX_WAREHOUSE_HOME (default ./.inbox-warehouse), started on demand.

            Examples:
              inbox-warehouse load examples/sample.ndjson
              inbox-warehouse export resolved-conversations --from 2026-03-01 --to 2026-03-31 --tz Europe/Paris --output resolved.csv
              inbox-warehouse export --all --from 2026-03-01 --to 2026-03-31 --output-dir out/
              psql "$(inbox-warehouse db url)"

            Exit status: 0 success; 1 failure; 2 some input records were rejected (the rest loaded); \
            64 invalid command line.
            """,
        subcommands: [Demo.self, Load.self, Import.self, Export.self, Database.self, Generate.self, Jobs.self, ScheduleCommand.self,
                      SchedulerLoop.self, RetentionCommand.self, SQLCommand.self, Serve.self, Users.self]
    )

    static func main() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["INBOX_WAREHOUSE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .warning
            return handler
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

import ArgumentParser
import Foundation
import InboxWarehouse
import PostgresLibPQ

extension InboxWarehouseCommand {
    struct ScheduleCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule",
            abstract: "Schedule exports: add, list, remove, and run what is due.",
            discussion: """
                Each run of a schedule exports the previous complete period (hour, day, Monday-based \
                week or month) in the schedule's time zone, into DESTINATION/<type>/ as \
                <organisation>_<type>_<start>_<end>_job<id>.csv with its manifest beside it. A \
                schedule added with --import chatwoot:NAME first refreshes that saved source. See \
                docs/scheduling.md.
                """,
            subcommands: [Add.self, List.self, Remove.self, RunDue.self])
    }
}

extension InboxWarehouseCommand.ScheduleCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a schedule.",
            discussion: """
                Examples:
                  inbox-warehouse schedule add --name paris-messages --type messages --frequency daily --tz Europe/Paris --destination /srv/exports
                  inbox-warehouse schedule add --name weekly-agents --type agent-metrics --frequency weekly --destination sftp://exports@sftp.example.com:2222/incoming
                  inbox-warehouse schedule add --name acme-weekly --type resolved-conversations --frequency weekly --destination sftp://exports@sftp.example.com/incoming --import chatwoot:acme

                --import chatwoot:NAME: before each due period is exported, the runner imports the \
                source saved with `import chatwoot ... --save-as NAME` (incrementally, once per run \
                for all the schedules that share it). If that import fails, the job fails and \
                nothing is delivered; rejected records do not stop the export (the job notes how \
                many). The source's password comes from the runner's PGPASSWORD, ~/.pgpass \
                (PGPASSFILE) or service file.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "A unique name for the schedule.")
        var name: String

        @Option(help: ArgumentHelp("The export type.", valueName: "type"))
        var type: ExportType

        @Option(help: "hourly, daily, weekly (Monday to Monday) or monthly.")
        var frequency: Frequency

        @Option(help: ArgumentHelp("IANA time zone of the periods and of the timestamps in the files, any case.", valueName: "zone"))
        var tz = "UTC"

        @Option(name: .customLong("channel"), help: ArgumentHelp("Only conversations of this channel (repeatable).", valueName: "id"))
        var channels: [String] = []

        @Option(help: ArgumentHelp("A local directory, or sftp://user@host[:port]/path.", valueName: "dir|url"))
        var destination: String

        @Option(help: ArgumentHelp("First period to export: the one containing this date or instant (default: the previous complete period, so the next run exports it).", valueName: "date"))
        var start: RangeBound?

        @Option(name: .customLong("retention-months"), help: "A --start older than this many months is refused.")
        var retentionMonths = 18

        @Option(name: .customLong("import"),
                help: ArgumentHelp("Import this saved source (chatwoot:NAME) before each export.", valueName: "kind:name"))
        var importSource: String?

        @Option(help: .hidden)
        var now: Instant?

        func validate() throws {
            if let importSource {
                do {
                    _ = try ImportSourceStore.name(inReference: importSource)
                } catch let error as WarehouseError {
                    throw ValidationError(error.description)
                }
            }
        }

        func run() throws {
            try reportingErrors {
                var definition = ScheduleDefinition(name: name, type: type, frequency: frequency,
                                                    destination: try Destination(parsing: destination))
                definition.importSource = importSource
                definition.parameters = ExportParameters(timeZone: tz, channelIDs: channels)
                definition.start = start
                definition.now = now
                definition.retentionMonths = retentionMonths
                let (database, _) = try connection.connectMigrated()
                let schedule = try ScheduleStore(connection: database).add(definition)
                let importing = schedule.importSource.map { ", importing \($0) first" } ?? ""
                printStatus("added schedule \(schedule.name) (\(schedule.frequency.rawValue) \(schedule.exportType) in \(schedule.timeZone), first period starting \(schedule.startsAt)\(importing)) -> \(schedule.destination)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the schedules.")

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                let schedules = try ScheduleStore(connection: database).list()
                if json {
                    print(try sortedJSONText(schedules))
                    return
                }
                var rows = [["NAME", "TYPE", "FREQUENCY", "TIME ZONE", "CHANNELS", "FIRST PERIOD", "IMPORT", "DESTINATION"]]
                for schedule in schedules {
                    rows.append([schedule.name, schedule.exportType, schedule.frequency.rawValue, schedule.timeZone,
                                 schedule.channelIDs.isEmpty ? "all" : schedule.channelIDs.joined(separator: ","),
                                 schedule.startsAt, schedule.importSource ?? "-", schedule.destination])
                }
                print(columnsText(rows), terminator: "")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a schedule (its jobs and files stay).")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The schedule's name.")
        var name: String

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                guard try ScheduleStore(connection: database).remove(name: name) else {
                    throw WarehouseError.invalidParameter("no schedule named \"\(name)\"")
                }
                printStatus("removed schedule \(name)")
            }
        }
    }

    struct RunDue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-due",
            abstract: "Export every due period of every schedule that is not exported yet, then exit.",
            discussion: """
                Cron-friendly: run it as often as the shortest schedule (e.g. every 5 minutes). A \
                runner that was down catches up on every missed period, oldest first. Concurrent \
                runs never export a (schedule, period) twice. A failed job is retried by the next \
                runs, up to --max-attempts runs.

                Example crontab line:
                  */5 * * * * inbox-warehouse schedule run-due --quiet

                A schedule with an import source (schedule add --import) imports it before its \
                first due period of the run; the import's password comes from this process's \
                PGPASSWORD, ~/.pgpass (PGPASSFILE) or service file.

                Exit status: 0 every job run succeeded (or nothing was due); 1 a job failed (its \
                import too) or the database could not be reached.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var runner: RunnerOptionGroup

        @Option(help: ArgumentHelp("Act as if it were this moment (RFC 3339 with an offset); default now.", valueName: "timestamp"))
        var now: Instant?

        @Flag(help: "Print a JSON report on standard output.")
        var json = false

        @Flag(help: "Print nothing but errors.")
        var quiet = false

        func run() throws {
            let outcome: RunDueReport? = try reportingErrors {
                let options = try runner.runnerOptions()
                let quiet = self.quiet
                let database: Connection, migration: Migrator.Report
                do {
                    // A cron line must not undo `db stop`: an embedded cluster stopped on purpose
                    // stays stopped, and this run does nothing (exit 0).
                    (database, migration) = try connection.connectMigrated(startingStoppedCluster: false)
                } catch let stopped as EmbeddedCluster.StoppedOnPurpose {
                    if !quiet { printStatus("inbox-warehouse schedule run-due: nothing run: \(stopped)") }
                    return nil
                }
                let jobRunner = JobRunner(connection: database, schemaVersion: migration.schemaVersion, options: options) { message in
                    if !quiet || message.contains("failed") { printStatus(message) }
                }
                return try jobRunner.runDue(now: now)
            }
            guard let report = outcome else { return }
            if json {
                struct Import: Encodable { let source: String, loaded: Int64, rejected: Int64, shared: Bool }
                struct Line: Encodable {
                    let job_id: Int64, schedule: String?, type: String, period_start: String?, period_end: String?
                    let state: String, file: String?, rows: Int?, error: String?
                    let `import`: Import?
                }
                struct Summary: Encodable { let run_at: String, jobs: [Line], skipped: Int }
                let lines = report.outcomes.map {
                    Line(job_id: $0.jobID, schedule: $0.scheduleName, type: $0.exportType, period_start: $0.period?.start,
                         period_end: $0.period?.end, state: $0.state.rawValue, file: $0.filePath, rows: $0.rows, error: $0.error,
                         import: $0.imported.map { Import(source: $0.source, loaded: $0.loaded, rejected: $0.rejected, shared: $0.isShared) })
                }
                print(try sortedJSONText(Summary(run_at: report.runAt, jobs: lines, skipped: report.skipped)))
            } else if !quiet {
                printStatus("run at \(report.runAt): \(report.succeeded) succeeded, \(report.failed) failed, \(report.skipped) left to other runners")
            }
            if report.failed > 0 { throw ExitCode(1) }
        }
    }
}

/// Pretty, key-sorted JSON.
func sortedJSONText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Left-aligned columns separated by two spaces, one line per row.
func columnsText(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = Array(repeating: 0, count: first.count)
    for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}

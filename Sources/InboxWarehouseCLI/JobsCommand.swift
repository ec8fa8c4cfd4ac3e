import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show export jobs: every scheduled (and recorded on-demand) export run.",
            subcommands: [List.self, Show.self])
    }
}

extension InboxWarehouseCommand.Jobs {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the most recent jobs first.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "Show at most this many jobs.")
        var limit = 50

        @Option(help: "Only jobs in this state.")
        var state: JobState?

        @Option(help: ArgumentHelp("Only jobs of this schedule.", valueName: "name"))
        var schedule: String?

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be positive") }
        }

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                let jobs = try JobStore(connection: database).list(limit: limit, state: state, scheduleName: schedule)
                if json {
                    print(try sortedJSONText(jobs))
                    return
                }
                var rows = [["ID", "STATE", "TYPE", "SCHEDULE", "PERIOD START", "PERIOD END", "TRIES", "ROWS", "FILE / ERROR"]]
                for job in jobs {
                    rows.append([String(job.jobID), job.state.rawValue, job.exportType, job.scheduleName ?? "(on demand)",
                                 job.periodStart ?? "", job.periodEnd ?? "", String(job.attempts), job.rows.map(String.init) ?? "",
                                 job.state == .failed ? (job.error ?? "") : (job.filePath ?? "")])
                }
                print(columnsText(rows), terminator: "")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job: parameters, file, delivery and webhook history.")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The job id.")
        var id: Int64

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                guard let job = try JobStore(connection: database).job(id) else {
                    throw WarehouseError.invalidParameter("no job \(id)")
                }
                if json {
                    print(try sortedJSONText(job))
                    return
                }
                var lines: [(String, String?)] = [
                    ("job", String(job.jobID)), ("type", job.exportType), ("state", job.state.rawValue),
                    ("schedule", job.scheduleName), ("period start", job.periodStart), ("period end", job.periodEnd),
                    ("time zone", job.parameters.export.timeZone),
                    ("channels", job.parameters.export.channelIDs.isEmpty ? "all" : job.parameters.export.channelIDs.joined(separator: ", ")),
                    ("as of", job.parameters.export.asOf?.description), ("attempts", String(job.attempts)), ("runner", job.runner),
                    ("requested at", job.requestedAt), ("started at", job.startedAt), ("finished at", job.finishedAt),
                    ("file", job.filePath), ("rows", job.rows.map(String.init)), ("bytes", job.bytes.map(String.init)),
                    ("sha256", job.sha256), ("error", job.error), ("delivery attempts", String(job.deliveryAttempts)),
                ]
                if job.webhookAttempts > 0 {
                    lines.append(("webhook", job.webhookDeliveredAt.map { "delivered at \($0) (\(job.webhookAttempts) tries)" }
                                  ?? "failed after \(job.webhookAttempts) tries: \(job.webhookError ?? "")"))
                }
                for (label, value) in lines {
                    guard let value else { continue }
                    print("\(label.padding(toLength: 18, withPad: " ", startingAt: 0)) \(value)")
                }
                if !job.events.isEmpty {
                    print("history")
                    for event in job.events {
                        print("  \(event.at)  \(event.event)\(event.message.map { ": \($0)" } ?? "")")
                    }
                }
            }
        }
    }
}

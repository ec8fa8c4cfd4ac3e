import ArgumentParser
import Dispatch
import Foundation
import InboxWarehouse
import PostgresLibPQ

/// Settings of whoever runs jobs (`schedule run-due`, `scheduler`): file naming, retries, SFTP
/// and webhook. Each option falls back on its environment variable.
struct RunnerOptionGroup: ParsableArguments {
    @Option(help: ArgumentHelp("Organisation name at the start of delivered file names (default: $INBOX_WAREHOUSE_ORGANIZATION, else inbox).", valueName: "name"))
    var organization: String?

    @Option(name: .customLong("max-attempts"), help: "A failed scheduled job is retried by later runs until it has run this many times.")
    var maxAttempts = 3

    @Option(name: .customLong("retention-months"), help: "Periods starting before now minus this many months are not exported.")
    var retentionMonths = 18

    @Option(name: .customLong("sftp-key"), help: ArgumentHelp("Private key for SFTP destinations (default: $INBOX_WAREHOUSE_SFTP_KEY, else ssh's defaults).", valueName: "file"))
    var sftpKey: String?

    @Option(name: .customLong("sftp-known-hosts"), help: ArgumentHelp("known_hosts file the SFTP servers' host keys are checked against (default: $INBOX_WAREHOUSE_SFTP_KNOWN_HOSTS, else ~/.ssh/known_hosts).", valueName: "file"))
    var sftpKnownHosts: String?

    @Option(name: .customLong("delivery-attempts"), help: "SFTP tries per job run for transient failures (unreachable host, transfer error).")
    var deliveryAttempts = 3

    @Option(name: .customLong("retry-delay"), help: ArgumentHelp("Seconds before the first SFTP or webhook retry; doubled each time.", valueName: "seconds"))
    var retryDelay = 2.0

    @Option(name: .customLong("webhook-url"), help: ArgumentHelp("POST every finished job here (default: $INBOX_WAREHOUSE_WEBHOOK_URL). The signing secret is read from $INBOX_WAREHOUSE_WEBHOOK_SECRET.", valueName: "url"))
    var webhookURL: String?

    func validate() throws {
        if maxAttempts < 1 || deliveryAttempts < 1 { throw ValidationError("attempt counts must be positive") }
        if retentionMonths < 1 { throw ValidationError("--retention-months must be positive") }
        if retryDelay < 0 { throw ValidationError("--retry-delay cannot be negative") }
    }

    func runnerOptions() throws -> RunnerOptions {
        let environment = ProcessInfo.processInfo.environment
        var options = try RunnerOptions.fromEnvironment(environment)
        if let organization { options.organization = organization }
        options.maxAttempts = maxAttempts
        options.retentionMonths = retentionMonths
        if let sftpKey { options.sftp.identityFile = sftpKey }
        if let sftpKnownHosts { options.sftp.knownHostsFile = sftpKnownHosts }
        options.deliveryAttempts = deliveryAttempts
        options.deliveryInitialDelaySeconds = retryDelay
        if let webhookURL {
            options.webhook = try WebhookSettings.make(url: webhookURL, secret: environment["INBOX_WAREHOUSE_WEBHOOK_SECRET"])
        }
        options.webhook?.initialDelaySeconds = max(retryDelay, 0.1)
        return options
    }
}

extension InboxWarehouseCommand {
    struct SchedulerLoop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scheduler",
            abstract: "Run due scheduled exports in a loop until SIGTERM or SIGINT.",
            discussion: """
                Every --interval seconds, does what `schedule run-due` does. On SIGTERM or SIGINT \
                it finishes the job in progress (if any) and exits with status 0. Several \
                schedulers (and cron run-dues) may run at once: each (schedule, period) is exported \
                exactly once. A schedule added with --import chatwoot:NAME first imports from \
                its saved source (once per run, whatever the number of its periods due); the \
                source's password comes from PGPASSWORD, PGPASSFILE (~/.pgpass) or a service file \
                in the scheduler's environment.

                With the embedded cluster, the scheduler starts it when it is down, except after \
                `db stop`: then it says once that it waits and looks again every --interval \
                seconds, until `db start` (or another command that needs the database) starts it.

                Example:
                  inbox-warehouse scheduler --interval 60 --organization acme
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var runner: RunnerOptionGroup

        @Option(help: ArgumentHelp("Seconds between two looks for due periods.", valueName: "seconds"))
        var interval = 60.0

        @Flag(help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            if interval <= 0 { throw ValidationError("--interval must be positive") }
        }

        func run() throws {
            try reportingErrors {
                let options = try runner.runnerOptions()
                let stop = StopSignal()
                let quiet = self.quiet
                try handlingInterrupts({ _ in
                    printStatus("inbox-warehouse scheduler: stopping (finishing the job in progress)")
                    stop.stop()
                }) {
                    // Never starts an embedded cluster stopped with `db stop`: waits for it instead.
                    let target = connection.target
                    let connect = { () throws -> (Connection, Migrator.Report) in
                        let opened = try target.connect(startingStoppedCluster: false)
                        do {
                            return (opened, try Migrator(resources: try SQLResources.bundled()).migrate(opened))
                        } catch {
                            opened.close()
                            throw error
                        }
                    }
                    var first: (Connection, Migrator.Report)?
                    var waiting = false
                    while first == nil {
                        do {
                            first = try connect()
                        } catch let error as EmbeddedCluster.StoppedOnPurpose {
                            if !waiting { printStatus("inbox-warehouse scheduler: waiting: \(error)") }
                            waiting = true
                            if stop.wait(seconds: interval) { return }
                        }
                    }
                    let (firstConnection, report) = first!
                    firstConnection.close()
                    if !quiet { printStatus("inbox-warehouse scheduler: running every \(interval) s as \(options.runnerName)") }
                    Scheduler(interval: interval, options: options, schemaVersion: report.schemaVersion)
                        .run(stop: stop, connect: { try connect().0 }, log: { message in
                            if !quiet || message.contains("failed") || message.hasPrefix("scheduler:") { printStatus(message) }
                        })
                }
                if !quiet { printStatus("inbox-warehouse scheduler: stopped") }
            }
        }
    }
}

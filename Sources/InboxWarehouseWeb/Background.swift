import Foundation
import InboxWarehouse
import PostgresLibPQ

/// Reports a running job's rows: stores them on the job row and sends them on the progress
/// channel, on a connection of its own (the job's connection is busy with the COPY, inside a
/// transaction whose NOTIFY would only be delivered at its end).
final class ProgressNotifier: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: Connection?
    private let connect: @Sendable () throws -> Connection

    init(connect: @escaping @Sendable () throws -> Connection) { self.connect = connect }

    func report(jobID: Int64, rows: Int) {
        lock.lock()
        defer { lock.unlock() }
        do {
            if connection == nil { connection = try connect() }
            try connection!.execute("update warehouse.export_jobs set rows = $2::bigint where job_id = $1 and state = 'running'",
                                    binds: [jobID, rows])
            try connection!.execute("select pg_notify($1, $2)",
                                    binds: [exportProgressChannel, EventTranslation.json(["job_id": jobID, "rows": rows])])
        } catch {
            connection?.close()
            connection = nil
        }
    }

    func close() {
        lock.lock()
        connection?.close()
        connection = nil
        lock.unlock()
    }
}

/// Runs the page's on-demand jobs, one at a time, on a thread of its own: the queued ones at
/// start, then each new one as soon as `wake()` says there is one (and every few seconds, in
/// case another server queued one). A job in progress is finished before it stops.
final class JobWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var hasWork = true
    private let connect: @Sendable () throws -> Connection
    private let schemaVersion: Int
    private let options: RunnerOptions
    private let directory: String
    private let stop: StopSignal
    private let hub: EventHub
    private let log: @Sendable (String) -> Void

    init(connect: @escaping @Sendable () throws -> Connection, schemaVersion: Int, options: RunnerOptions, directory: String,
         stop: StopSignal, hub: EventHub, log: @escaping @Sendable (String) -> Void) {
        self.connect = connect
        self.schemaVersion = schemaVersion
        self.options = options
        self.directory = directory
        self.stop = stop
        self.hub = hub
        self.log = log
    }

    func wake() {
        condition.lock()
        hasWork = true
        condition.broadcast()
        condition.unlock()
    }

    func start(done: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            run()
            done()
        }
        thread.name = "inbox-warehouse-jobs"
        thread.start()
    }

    private func run() {
        var connection: Connection?
        while !stop.isStopped {
            condition.lock()
            if !hasWork { _ = condition.wait(until: Date(timeIntervalSinceNow: 5)) }
            hasWork = false
            condition.unlock()
            if stop.isStopped { break }
            do {
                if connection == nil { connection = try connect() }
                let runner = JobRunner(connection: connection!, schemaVersion: schemaVersion, options: options, log: log)
                for jobID in try JobRunner.queuedOnDemandJobs(on: connection!) {
                    if stop.isStopped { break }
                    hub.publish(ServerEvent(name: "job", data: EventTranslation.json(["job_id": jobID, "state": "running", "rows": 0, "bytes": 0])))
                    try runner.runQueued(jobID, into: directory)
                }
            } catch {
                log("serve: on-demand jobs: \(error)")
                connection?.close()
                connection = nil
                if stop.wait(seconds: 2) { break }
            }
        }
        connection?.close()
    }
}

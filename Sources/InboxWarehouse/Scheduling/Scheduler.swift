import Foundation
import PostgresLibPQ

/// A stop request that any thread (a signal handler's queue) may raise and a loop may wait on.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSCondition()
    private var stopped = false

    public init() {}

    /// Asks the loop to stop; wakes it if it is waiting.
    public func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        lock.unlock()
    }

    public var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Waits up to `seconds`; returns true as soon as a stop was requested.
    public func wait(seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        lock.lock()
        defer { lock.unlock() }
        while !stopped {
            if !lock.wait(until: deadline) { break }
        }
        return stopped
    }
}

/// The long-running scheduler: runs what is due, sleeps `interval` seconds, again, until
/// stopped. A job in progress is finished before it stops. A lost database connection is
/// reported and re-opened on the next round. While `connect` throws
/// `EmbeddedCluster.StoppedOnPurpose` (the cluster was stopped with `db stop`), it says once that
/// it waits, tries again every round, and says when it resumes.
public struct Scheduler {
    public var interval: Double
    public var options: RunnerOptions
    public var schemaVersion: Int

    public init(interval: Double = 60, options: RunnerOptions, schemaVersion: Int) {
        self.interval = interval
        self.options = options
        self.schemaVersion = schemaVersion
    }

    /// Loops until `stop` is raised. `connect` opens (and migrates) a connection.
    public func run(stop: StopSignal, connect: () throws -> Connection, log: @escaping (String) -> Void) {
        var connection: Connection?
        var waiting = false
        while !stop.isStopped {
            do {
                if connection == nil {
                    connection = try connect()
                    if waiting {
                        log("scheduler: resumed: the database is reachable again")
                        waiting = false
                    }
                }
                let runner = JobRunner(connection: connection!, schemaVersion: schemaVersion, options: options, log: log)
                let report = try runner.runDue(shouldStop: { stop.isStopped })
                if !report.outcomes.isEmpty {
                    log("ran \(report.outcomes.count) job(s): \(report.succeeded) succeeded, \(report.failed) failed")
                }
            } catch let error as EmbeddedCluster.StoppedOnPurpose {
                if !waiting { log("scheduler: waiting: \(error)") }
                waiting = true
            } catch {
                log("scheduler: \(error)")
                connection?.close()
                connection = nil
            }
            if stop.wait(seconds: interval) { break }
        }
        connection?.close()
    }
}

import Foundation
import PostgresLibPQ
import Testing
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

extension ReliabilityTests {
    /// The embedded cluster under attack: the tool killed while it creates the cluster, a hijacked
    /// home, and `db stop` while a scheduler runs (docs/reliability.md, "The embedded cluster").
    @Suite("Reliability: the embedded cluster")
    struct Cluster {
        /// Where the tool is killed during a first `db start`.
        enum KillPoint: CustomStringConvertible {
            /// While `initdb` runs. `orphanFinished`: the next start waits until the orphaned
            /// `initdb` (it keeps running after its parent's death) has finished, as in the issue's repro.
            case duringInitdb(orphanFinished: Bool)
            /// At a named failpoint (`INBOX_WAREHOUSE_FAILPOINT`): the tool stops there and waits.
            case failpoint(String)

            var description: String {
                switch self {
                case .duringInitdb(let finished): return finished ? "during initdb, orphan finished" : "during initdb, orphan running"
                case .failpoint(let name): return "at \(name)"
                }
            }
        }

        /// Each point is tried killing the tool alone (its `initdb` or server live on) and killing
        /// its whole process group.
        static let killPoints: [(point: KillPoint, group: Bool)] = {
            var points: [(KillPoint, Bool)] = [
                (.duringInitdb(orphanFinished: true), false),   // the issue's repro
                (.duringInitdb(orphanFinished: false), false),
                (.duringInitdb(orphanFinished: false), true),
                (.failpoint("initdb-done"), false),
                (.failpoint("configured"), true),
                (.failpoint("renamed"), false),
            ]
            if Reliability.isFull {
                points += [
                    (.duringInitdb(orphanFinished: true), true),
                    (.failpoint("initdb-done"), true),
                    (.failpoint("configured"), false),
                    (.failpoint("marked"), false),
                    (.failpoint("marked"), true),
                    (.failpoint("renamed"), true),
                    (.failpoint("started"), false),
                    (.failpoint("started"), true),
                ]
            }
            return points
        }()

        @Test("a kill at any point of the first `db start`: the next start is complete and configured, never open on TCP")
        func killDuringFirstStart() throws {
            let started = Date()
            // Two kill points at a time, each in its own home: most of the time goes to initdb.
            let points = Self.killPoints
            final class Work: @unchecked Sendable {
                let lock = NSLock()
                var next = 0
                var results: [(problems: [String], line: String)?]
                init(count: Int) { results = Array(repeating: nil, count: count) }
                func take() -> Int { lock.lock(); defer { lock.unlock() }; next += 1; return next - 1 }
                func put(_ index: Int, _ result: (problems: [String], line: String)) { lock.lock(); results[index] = result; lock.unlock() }
            }
            let work = Work(count: points.count)
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                while true {
                    let index = work.take()
                    guard index < points.count else { return }
                    work.put(index, Self.tryKillPoint(points[index].point, group: points[index].group))
                }
            }
            let results = work.results
            for (index, result) in results.enumerated() {
                let (point, group) = points[index]
                #expect(result?.problems == [], "\(point), group \(group):\n\(result?.problems.joined(separator: "\n") ?? "not run")")
            }
            let lines = results.compactMap { $0?.line }
            Reliability.figure("cluster kill points: \(lines.count) (\(lines.joined(separator: "; "))), every next start configured, no TCP, \(Int(Date().timeIntervalSince(started))) s")
        }

        /// Kills a first `db start` at `point`, starts again, and returns what did not hold (empty
        /// when all did) and a line for the figures.
        static func tryKillPoint(_ point: KillPoint, group: Bool) -> (problems: [String], line: String) {
            let started = Date()
            var problems: [String] = []
            func check(_ condition: Bool, _ message: @autoclosure () -> String) {
                if !condition { problems.append(message()) }
            }
            let base: URL
            do { base = try Reliability.shortTemporaryDirectory("iwk") } catch { return (["\(error)"], "") }
            let home = base.appendingPathComponent("h", isDirectory: true)
            defer {
                ClusterProbe.shutDown(home: home.path)
                try? FileManager.default.removeItem(at: base)
            }
            do {
                let environment = ["INBOX_WAREHOUSE_HOME": home.path]
                var pointEnvironment = environment
                if case .failpoint(let name) = point { pointEnvironment["INBOX_WAREHOUSE_FAILPOINT"] = name }
                let first = try ClusterProbe.Spawned(["db", "start"], environment: pointEnvironment, newGroup: group)
                switch point {
                case .duringInitdb:
                    let seen = ClusterProbe.waitUntil(seconds: 60, every: 0.005) { !ClusterProbe.processes(named: "initdb", mentioning: home.path).isEmpty }
                    guard seen else { first.kill(group: group); first.wait(); return (["initdb never ran; stderr: \(first.standardError)"], "") }
                case .failpoint(let name):
                    let reached = ClusterProbe.waitUntil(seconds: 90) { first.standardError.contains("failpoint \(name) reached") }
                    guard reached else { first.kill(group: group); first.wait(); return (["failpoint never reached; stderr: \(first.standardError)"], "") }
                }
                first.kill(group: group)
                first.wait()
                // Whatever the killed run left must not serve anything.
                let exposed = ClusterProbe.exposure(home: home.path, allowRunningServer: true)
                check(exposed.isEmpty, "after the kill: \(exposed)")
                if case .duringInitdb(orphanFinished: true) = point {
                    let finished = ClusterProbe.waitUntil(seconds: 60) { ClusterProbe.processes(named: "initdb", mentioning: home.path).isEmpty }
                    check(finished, "the orphaned initdb did not finish")
                }

                let again = try ClusterProbe.run(["db", "start"], environment: environment, timeout: 180)
                check(again.status == 0, "the next db start: \(again.standardError)")
                if again.status == 0 {
                    problems += try ClusterProbe.configurationProblems(home: home)
                }
                // Orphans gone, one more start (the cluster runs already) clears what they left.
                _ = ClusterProbe.waitUntil(seconds: 60) { ClusterProbe.processes(named: "initdb", mentioning: home.path).isEmpty }
                let third = try ClusterProbe.run(["db", "start"], environment: environment, timeout: 120)
                check(third.status == 0 && third.standardError.contains("already running"), "the third db start: \(third.standardError)")
                let left = ClusterProbe.leftovers(home: home)
                check(left.isEmpty, "left in the home: \(left)")
                let exposedAtEnd = ClusterProbe.exposure(home: home.path, allowRunningServer: true)
                check(exposedAtEnd.isEmpty, "at the end: \(exposedAtEnd)")
            } catch {
                problems.append("\(error)")
            }
            return (problems, "\(point)\(group ? " (group)" : "") \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }

        @Test("a data directory the tool did not finish is never started, even when a server runs on it")
        func unfinishedDataDirectory() throws {
            let base = try Reliability.shortTemporaryDirectory("iwu")
            let home = base.appendingPathComponent("h", isDirectory: true)
            defer {
                ClusterProbe.shutDown(home: home.path)
                try? FileManager.default.removeItem(at: base)
            }
            let environment = ["INBOX_WAREHOUSE_HOME": home.path]
            // What an older version left when killed during initdb: a cluster in <home>/data with
            // PostgreSQL's stock settings and none of the tool's.
            try ClusterProbe.makeHome(home)
            let data = home.appendingPathComponent("data").path
            let binaries = try PostgresBinaries.locate()
            let initdb = try ClusterProbe.runAsServerUser(binaries.initdb, ["-D", data, "-U", EmbeddedCluster.superuser, "-A", "trust", "--no-instructions"])
            try #require(initdb.status == 0, "\(initdb.output)")
            let refused = try ClusterProbe.run(["db", "start"], environment: environment)
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("not finished"), "\(refused.standardError)")
            #expect(refused.standardError.contains("rm -rf"), "the repair is spelled out: \(refused.standardError)")
            #expect(ClusterProbe.servers(home: home.path).isEmpty, "nothing was started")

            // A server running on it (started by hand on a private socket): stopped, not used.
            let start = try ClusterProbe.runAsServerUser(binaries.pgCtl, [
                "-D", data, "-l", home.appendingPathComponent("hand.log").path, "-w",
                "-o", "-c listen_addresses='' -c unix_socket_directories='\(home.path)'", "start",
            ])
            try #require(start.status == 0, "\(start.output)")
            #expect(ClusterProbe.servers(home: home.path).count == 1)
            let again = try ClusterProbe.run(["db", "start"], environment: environment)
            #expect(again.status == 1)
            #expect(again.standardError.contains("stopped"), "\(again.standardError)")
            #expect(ClusterProbe.waitUntil(seconds: 10) { ClusterProbe.servers(home: home.path).isEmpty }, "the foreign server was stopped")
            #expect(FileManager.default.fileExists(atPath: data + "/PG_VERSION"), "its data are kept")
        }

        // MARK: The home

        @Test("a symlinked INBOX_WAREHOUSE_HOME is refused; the directory it points to is left as it was")
        func symlinkedHome() throws {
            let base = try Reliability.shortTemporaryDirectory("iws")
            defer {
                ClusterProbe.shutDown(home: base.path)
                try? FileManager.default.removeItem(at: base)
            }
            let target = base.appendingPathComponent("target", isDirectory: true)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
            chmod(target.path, 0o755)
            try "keep".write(to: target.appendingPathComponent("keep.txt"), atomically: false, encoding: .utf8)
            let before = try ClusterProbe.ownerAndMode(target.path)
            let link = base.appendingPathComponent("home")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)

            for command in [["db", "start"], ["db", "status"], ["db", "stop"], ["db", "url"]] {
                let run = try ClusterProbe.run(command, environment: ["INBOX_WAREHOUSE_HOME": link.path])
                #expect(run.status == 1, "\(command): \(run.standardError)")
                #expect(run.standardError.contains("symbolic link"), "\(command): \(run.standardError)")
            }
            #expect(try ClusterProbe.ownerAndMode(target.path) == before, "owner and mode unchanged")
            #expect(directoryListing(target) == ["keep.txt"])

            // A home below a directory that others may write (and is not sticky): refused too.
            let open = base.appendingPathComponent("open", isDirectory: true)
            try FileManager.default.createDirectory(at: open, withIntermediateDirectories: false)
            chmod(open.path, 0o777)
            let below = try ClusterProbe.run(["db", "start"], environment: ["INBOX_WAREHOUSE_HOME": open.appendingPathComponent("h").path])
            #expect(below.status == 1)
            #expect(below.standardError.contains("writable by others"), "\(below.standardError)")
            #expect(directoryListing(open) == [])
        }

        @Test("a planted cluster.lock symlink is refused and its target never created; an existing home is never chowned or chmodded")
        func plantedLockAndForeignHome() throws {
            let base = try Reliability.shortTemporaryDirectory("iwl")
            defer {
                ClusterProbe.shutDown(home: base.path)
                try? FileManager.default.removeItem(at: base)
            }

            // A home as the tool leaves it (the server's user, 0700), with a planted lock symlink.
            let home = base.appendingPathComponent("h", isDirectory: true)
            try ClusterProbe.makeHome(home)
            let victim = base.appendingPathComponent("created-through-the-lock")
            try FileManager.default.createSymbolicLink(atPath: home.appendingPathComponent("cluster.lock").path, withDestinationPath: victim.path)
            let planted = try ClusterProbe.run(["db", "start"], environment: ["INBOX_WAREHOUSE_HOME": home.path])
            #expect(planted.status == 1)
            #expect(planted.standardError.contains("cluster.lock"), "\(planted.standardError)")
            #expect(!FileManager.default.fileExists(atPath: victim.path), "nothing was created through the symlink")
            #expect(ClusterProbe.servers(home: home.path).isEmpty)

            // A home another user made for us (or anyone may write): refused, left as it was.
            let foreign = base.appendingPathComponent("f", isDirectory: true)
            try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: false)
            if geteuid() == 0 {
                chown(foreign.path, 65534, 65534)  // nobody
                chmod(foreign.path, 0o700)
            } else {
                chmod(foreign.path, 0o777)
            }
            try FileManager.default.createSymbolicLink(atPath: foreign.appendingPathComponent("cluster.lock").path, withDestinationPath: victim.path)
            let foreignBefore = try ClusterProbe.ownerAndMode(foreign.path)
            let refused = try ClusterProbe.run(["db", "start"], environment: ["INBOX_WAREHOUSE_HOME": foreign.path])
            #expect(refused.status == 1)
            #expect(refused.standardError.contains(foreign.path), "\(refused.standardError)")
            #expect(try ClusterProbe.ownerAndMode(foreign.path) == foreignBefore, "never chowned or chmodded")
            #expect(!FileManager.default.fileExists(atPath: victim.path))

            // A home of the right owner that others may write: refused, not chmodded.
            let loose = base.appendingPathComponent("w", isDirectory: true)
            try ClusterProbe.makeHome(loose)
            chmod(loose.path, 0o777)
            let looseRun = try ClusterProbe.run(["db", "start"], environment: ["INBOX_WAREHOUSE_HOME": loose.path])
            #expect(looseRun.status == 1)
            #expect(looseRun.standardError.contains("writable by others"), "\(looseRun.standardError)")
            #expect(try ClusterProbe.ownerAndMode(loose.path).mode == 0o777)

            if geteuid() == 0 {
                // As root, a directory root made (not the tool) would have to be given to postgres:
                // refused with the repair, and left as it was.
                let rootMade = base.appendingPathComponent("r", isDirectory: true)
                try FileManager.default.createDirectory(at: rootMade, withIntermediateDirectories: false)
                chmod(rootMade.path, 0o755)
                let rootRun = try ClusterProbe.run(["db", "start"], environment: ["INBOX_WAREHOUSE_HOME": rootMade.path])
                #expect(rootRun.status == 1)
                #expect(rootRun.standardError.contains("chown postgres"), "\(rootRun.standardError)")
                let after = try ClusterProbe.ownerAndMode(rootMade.path)
                #expect(after.owner == 0 && after.mode == 0o755)
            }
        }

        // MARK: db stop and the scheduler

        @Test("`db stop` sticks while a scheduler runs: the scheduler waits, and resumes after `db start`")
        func stopSticksWhileSchedulerRuns() throws {
            let base = try Reliability.shortTemporaryDirectory("iwt")
            let home = base.appendingPathComponent("h", isDirectory: true)
            defer {
                ClusterProbe.shutDown(home: home.path)
                try? FileManager.default.removeItem(at: base)
            }
            let environment = ["INBOX_WAREHOUSE_HOME": home.path]
            let start = try ClusterProbe.run(["db", "start"], environment: environment, timeout: 180)
            try #require(start.status == 0, "\(start.standardError)")
            let pidFile = home.appendingPathComponent("data/postmaster.pid").path

            let scheduler = try ClusterProbe.Spawned(["scheduler", "--interval", "0.2"], environment: environment)
            defer { if scheduler.isRunning { scheduler.kill(); scheduler.wait(timeout: 10) } }
            #expect(ClusterProbe.waitUntil(seconds: 60) { scheduler.standardError.contains("running every") }, "\(scheduler.standardError)")
            let stop = try ClusterProbe.run(["db", "stop"], environment: environment)
            #expect(stop.status == 0, "\(stop.standardError)")
            // 3 s = 15 rounds of the scheduler: the cluster must stay down all along.
            var cameBack = false
            let watchUntil = Date(timeIntervalSinceNow: 3)
            while Date() < watchUntil {
                if FileManager.default.fileExists(atPath: pidFile) { cameBack = true; break }
                usleep(20_000)
            }
            #expect(!cameBack, "the scheduler restarted a cluster stopped with db stop: \(scheduler.standardError)")
            #expect(try ClusterProbe.run(["db", "status"], environment: environment).standardOutput == "stopped\n")
            #expect(scheduler.isRunning, "the scheduler waits rather than exits")
            #expect(scheduler.standardError.components(separatedBy: "waiting").count == 2,
                    "one line says it waits: \(scheduler.standardError)")

            // db start: the scheduler resumes by itself.
            let restart = try ClusterProbe.run(["db", "start"], environment: environment)
            #expect(restart.status == 0, "\(restart.standardError)")
            #expect(ClusterProbe.waitUntil(seconds: 20) { scheduler.standardError.contains("resumed") }, "\(scheduler.standardError)")
            scheduler.kill(signal: SIGTERM)
            #expect(scheduler.wait(timeout: 20) == 0, "\(scheduler.standardError)")

            // A scheduler started while the cluster is stopped on purpose waits too.
            #expect(try ClusterProbe.run(["db", "stop"], environment: environment).status == 0)
            let late = try ClusterProbe.Spawned(["scheduler", "--interval", "0.2"], environment: environment)
            defer { if late.isRunning { late.kill(); late.wait(timeout: 10) } }
            #expect(ClusterProbe.waitUntil(seconds: 30) { late.standardError.contains("waiting") }, "\(late.standardError)")
            usleep(1_000_000)
            #expect(!FileManager.default.fileExists(atPath: pidFile), "\(late.standardError)")
            late.kill(signal: SIGTERM)
            #expect(late.wait(timeout: 20) == 0, "\(late.standardError)")

            // `schedule run-due` from cron does not undo the stop either: nothing run, exit 0.
            let due = try ClusterProbe.run(["schedule", "run-due"], environment: environment)
            #expect(due.status == 0, "\(due.standardError)")
            #expect(due.standardError.contains("nothing run"), "\(due.standardError)")
            #expect(!FileManager.default.fileExists(atPath: pidFile), "run-due restarted the cluster: \(due.standardError)")

            // Any command that needs the database starts it again, and the stop is over.
            let url = try ClusterProbe.run(["db", "url"], environment: environment)
            #expect(url.status == 0)
            #expect(FileManager.default.fileExists(atPath: pidFile))
            #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("cluster.stopped").path))
        }
    }
}

// MARK: Probes: processes, sockets, homes

enum ClusterProbe {
    /// The CLI started with posix_spawn and reaped with waitpid (no Foundation `Process`, which
    /// must not race the test's own waitpid), optionally as the leader of a process group of its
    /// own, so that the whole group can be killed as a terminal or a service manager would.
    final class Spawned {
        let pid: pid_t
        private let outputPath: String
        private let errorPath: String
        private(set) var status: Int32?
        let started = Date()

        init(_ arguments: [String], environment: [String: String], newGroup: Bool = false) throws {
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "DATABASE_URL")
            env.removeValue(forKey: "INBOX_WAREHOUSE_FAILPOINT")
            env["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.repositoryRoot.appendingPathComponent("sql").path
            for (key, value) in environment { env[key] = value }
            let directory = try TestSupport.temporaryDirectory()
            outputPath = directory.appendingPathComponent("stdout").path
            errorPath = directory.appendingPathComponent("stderr").path
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            // The test process holds sockets of its own (the web tests' listeners): keep them out.
            Subprocess.closeInheritedDescriptors(&actions)
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            if newGroup {
                posix_spawnattr_setpgroup(&attributes, 0)
                posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            }
            let executable = TestSupport.executable.path
            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
            var pid: pid_t = 0
            let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            guard result == 0 else { throw WarehouseError.io("posix_spawn: \(String(cString: strerror(result)))") }
            self.pid = pid
        }

        var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

        /// A signal (SIGKILL by default) to the tool alone, or to its whole process group.
        func kill(group: Bool = false, signal: Int32 = SIGKILL) { Glibc.kill(group ? -pid : pid, signal) }

        /// Reaps the process once it has ended.
        var isRunning: Bool {
            guard status == nil else { return false }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid {
                status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                return false
            }
            return result == 0
        }

        /// The exit status (128 + signal when killed); nil when it ran past `timeout` (it is then killed).
        @discardableResult
        func wait(timeout: Double = 120) -> Int32? {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while isRunning {
                if Date() > deadline {
                    kill()
                    while isRunning { usleep(10_000) }
                    return nil
                }
                usleep(10_000)
            }
            return status
        }
    }

    /// Runs the CLI to completion.
    static func run(_ arguments: [String], environment: [String: String], timeout: Double = 120) throws
        -> (status: Int32?, standardOutput: String, standardError: String) {
        let process = try Spawned(arguments, environment: environment)
        let status = process.wait(timeout: timeout)
        return (status, process.standardOutput, process.standardError)
    }

    /// Polls `condition` every `every` seconds (5 ms to catch a short-lived initdb).
    static func waitUntil(seconds: Double, every: Double = 0.05, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(UInt32(every * 1_000_000))
        }
        return condition()
    }

    /// The arguments of a process, or nil once it is gone.
    static func commandLine(_ pid: pid_t) -> [String]? {
        guard let data = readProcFile("/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    static func allProcesses() -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
    }

    /// Processes whose program is `named` and whose arguments mention `text`.
    static func processes(named name: String, mentioning text: String) -> [pid_t] {
        allProcesses().filter { pid in
            guard let arguments = commandLine(pid), let first = arguments.first else { return false }
            return URL(fileURLWithPath: first).lastPathComponent == name && arguments.dropFirst().contains { $0.contains(text) }
        }
    }

    /// Where a process runs (PostgreSQL's processes run in their data directory).
    static func workingDirectory(_ pid: pid_t) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
    }

    static func parent(_ pid: pid_t) -> pid_t? {
        guard let data = readProcFile("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let end = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: end)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Every PostgreSQL server process (postmaster) whose data directory is under `home`, with
    /// that directory. (A child it has just forked, still under the postmaster's name, is not one.)
    static func servers(home: String) -> [(pid: pid_t, dataDirectory: String)] {
        allProcesses().compactMap { pid in
            guard let arguments = commandLine(pid), let first = arguments.first,
                  URL(fileURLWithPath: first).lastPathComponent == "postgres", arguments.contains("-D"),
                  let directory = workingDirectory(pid), directory.hasPrefix(home + "/") else { return nil }
            if let parent = parent(pid), workingDirectory(parent) == directory { return nil }
            return (pid, directory)
        }
    }

    /// Every process working under `home` (servers, their backends, initdb's bootstrap backends).
    static func processesWorking(under home: String) -> [pid_t] {
        allProcesses().filter { pid in
            guard let directory = workingDirectory(pid) else { return false }
            return directory == home || directory.hasPrefix(home + "/")
        }
    }

    /// The inodes of the sockets a process holds.
    static func socketInodes(_ pid: pid_t) -> Set<String> {
        let fdDirectory = "/proc/\(pid)/fd"
        var inodes = Set<String>()
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
               target.hasPrefix("socket:[") {
                inodes.insert(String(target.dropFirst(8).dropLast()))
            }
        }
        return inodes
    }

    /// A /proc file read to its end. (Foundation's readers stop after the first page of a proc
    /// file, which loses most of /proc/net/unix on a busy machine.)
    static func readProcFile(_ path: String) -> Data? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return count == 0 ? data : nil }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// The lines of a /proc/net table, read three times: the kernel writes these tables a page
    /// at a time, and a line can be missed when sockets come and go between two pages.
    static func socketTable(_ path: String) -> [Substring] {
        var lines: [Substring] = []
        var seen = Set<Substring>()
        for _ in 0..<3 {
            guard let data = readProcFile(path) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() where seen.insert(line).inserted { lines.append(line) }
        }
        return lines
    }

    /// The listening TCP sockets (`address:port`, hexadecimal as in /proc/net/tcp) among `inodes`.
    static func tcpListeners(_ inodes: Set<String>) -> [String] {
        var found: [String] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in socketTable(table) {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) { found.append(String(fields[1])) }
            }
        }
        return found
    }

    /// The paths of the listening unix sockets among `inodes`.
    static func unixListeners(_ inodes: Set<String>) -> [String] {
        var found: [String] = []
        for line in socketTable("/proc/net/unix") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Flags 00010000: accepting connections.
            if fields.count > 7, fields[3] == "00010000", inodes.contains(String(fields[6])) { found.append(String(fields[7])) }
        }
        return found
    }

    /// What the processes working under `home` expose, one line per finding: any TCP listener, a
    /// unix socket outside the home, a server on anything but `<home>/data`, a listening process
    /// that is not a server. Empty when nothing is exposed.
    static func exposure(home: String, allowRunningServer: Bool) -> [String] {
        var findings: [String] = []
        let servers = servers(home: home)
        for server in servers where server.dataDirectory != home + "/data" {
            findings.append("a server runs on \(server.dataDirectory)")
        }
        if !allowRunningServer, !servers.isEmpty { findings.append("a server runs") }
        for pid in processesWorking(under: home) {
            let inodes = socketInodes(pid)
            for listener in tcpListeners(inodes) { findings.append("process \(pid) listens on TCP \(listener)") }
            for path in unixListeners(inodes) where !path.hasPrefix(home + "/") {
                findings.append("process \(pid) listens on unix socket \(path)")
            }
        }
        return findings
    }

    /// What is wrong with the cluster running in `home` (empty when nothing): it must run with
    /// the tool's settings, taken from the command line, with its completion marker, on a private
    /// socket only.
    static func configurationProblems(home: URL) throws -> [String] {
        var problems: [String] = []
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { problems.append(message()) }
        }
        let cluster = EmbeddedCluster(home: home)
        let connection = try Connection(conninfo: cluster.url(database: "postgres"))
        defer { connection.close() }
        let settings = try connection.execute("""
            select name, setting, source from pg_settings
            where name in ('listen_addresses', 'unix_socket_directories', 'unix_socket_permissions', 'port')
            order by name
            """).rows
        let expected: [[String?]] = [
            ["listen_addresses", "", "command line"],
            ["port", "5432", "command line"],
            ["unix_socket_directories", home.path, "command line"],
            ["unix_socket_permissions", "0700", "command line"],
        ]
        check(settings == expected, "settings: \(settings)")
        let openRules = try connection.execute("select count(*) from pg_hba_file_rules where type <> 'local' and auth_method <> 'reject'").scalar
        check(openRules == "0", "\(openRules ?? "?") pg_hba rules other than local let someone in")
        let sharedBuffers = try connection.execute("select setting from pg_settings where name = 'shared_buffers'").scalar
        check(sharedBuffers == "32768", "shared_buffers \(sharedBuffers ?? "?"): the tool's block is not in postgresql.conf")
        check(FileManager.default.fileExists(atPath: home.appendingPathComponent("data/inbox-warehouse.ready").path), "no inbox-warehouse.ready")
        check(try connection.execute("select 1 from pg_database where datname = 'inbox_warehouse'").rowCount == 1, "no inbox_warehouse database")
        let servers = servers(home: home.path)
        check(servers.count == 1 && servers.first?.dataDirectory == home.path + "/data", "servers: \(servers)")
        let exposed = exposure(home: home.path, allowRunningServer: true)
        check(exposed.isEmpty, "\(exposed)")
        if let server = servers.first {
            let listeners = unixListeners(socketInodes(server.pid))
            check(listeners == [home.path + "/.s.PGSQL.5432"], "the server's unix sockets: \(listeners)")
        }
        return problems
    }

    /// What is in the home besides the finished cluster's files.
    static func leftovers(home: URL) -> [String] {
        let expected: Set<String> = ["data", "cluster.lock", "postgres.log", ".s.PGSQL.5432", ".s.PGSQL.5432.lock", "cluster.stopped"]
        return directoryListing(home).filter { !expected.contains($0) }
    }

    /// Stops every server and process working under `home` (immediate shutdown, then SIGKILL),
    /// and any initdb building there.
    static func shutDown(home: String) {
        for pid in processes(named: "initdb", mentioning: home) { kill(pid, SIGKILL) }
        for server in servers(home: home) { kill(server.pid, SIGQUIT) }
        if !waitUntil(seconds: 10, { processesWorking(under: home).isEmpty }) {
            for pid in processesWorking(under: home) { kill(pid, SIGKILL) }
            _ = waitUntil(seconds: 5) { processesWorking(under: home).isEmpty }
        }
    }

    /// Creates `home` as the tool leaves it: owned by the server's user, mode 0700.
    static func makeHome(_ home: URL) throws {
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: false)
        chmod(home.path, 0o700)
        if geteuid() == 0, let user = getpwnam("postgres") {
            chown(home.path, user.pointee.pw_uid, user.pointee.pw_gid)
        }
    }

    static func ownerAndMode(_ path: String) throws -> (owner: uid_t, mode: mode_t) {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw WarehouseError.io("lstat \(path) failed") }
        return (info.st_uid, info.st_mode & 0o7777)
    }

    /// Runs a PostgreSQL program as the server's user (postgres when root).
    static func runAsServerUser(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = geteuid() == 0
            ? try ChildProcess.run(try PostgresBinaries.runuser(), ["-u", "postgres", "--", executable] + arguments, currentDirectory: URL(fileURLWithPath: "/"))
            : try ChildProcess.run(executable, arguments)
        return (result.status, result.standardOutput + result.standardError)
    }
}

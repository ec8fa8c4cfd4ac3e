import Foundation
import PostgresLibPQ
@testable import InboxWarehouse
#if canImport(Glibc)
import Glibc
#endif

struct SchedulingTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum SchedulingSupport {
    /// A free TCP port on 127.0.0.1 (bound, read, released).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SchedulingTestFailure("socket failed") }
        defer { close(descriptor) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SchedulingTestFailure("bind failed") }
        return try boundPort(descriptor)
    }

    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func boundPort(_ descriptor: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { throw SchedulingTestFailure("getsockname failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    static func isListening(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopbackAddress(port: UInt16(port))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Runs a program to completion; returns (status, stdout, stderr).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: String? = nil,
                    environment: [String: String] = [:]) throws -> (status: Int32, output: String, error: String) {
        let process = try start(executable, arguments, input: input, environment: environment)
        return process.finish()
    }

    /// A started child process with its output captured in files.
    final class Child: @unchecked Sendable {
        let process: Process
        let outputPath: String
        let errorPath: String

        init(process: Process, outputPath: String, errorPath: String) {
            self.process = process
            self.outputPath = outputPath
            self.errorPath = errorPath
        }

        func finish() -> (status: Int32, output: String, error: String) {
            process.waitUntilExit()
            return (process.terminationStatus,
                    (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
                    (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
        }

        var currentError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
    }

    static func start(_ executable: String, _ arguments: [String], input: String? = nil,
                      environment: [String: String] = [:]) throws -> Child {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        for key in env.keys where key.hasPrefix("INBOX_WAREHOUSE_WEBHOOK") || key.hasPrefix("INBOX_WAREHOUSE_SFTP") {
            env.removeValue(forKey: key)
        }
        env["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.repositoryRoot.appendingPathComponent("sql").path
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let directory = try TestSupport.temporaryDirectory()
        let outputPath = directory.appendingPathComponent("stdout").path
        let errorPath = directory.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        if let input {
            let inputPath = directory.appendingPathComponent("stdin").path
            try input.write(toFile: inputPath, atomically: true, encoding: .utf8)
            process.standardInput = FileHandle(forReadingAtPath: inputPath)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return Child(process: process, outputPath: outputPath, errorPath: errorPath)
    }

    /// The CLI, started with arguments.
    static func startCLI(_ arguments: [String], environment: [String: String] = [:]) throws -> Child {
        try start(TestSupport.executable.path, arguments, environment: environment)
    }

    /// psql of the test server's PostgreSQL.
    static func psql() throws -> String {
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin/psql" } + ["/usr/bin/psql", "/usr/local/bin/psql"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SchedulingTestFailure("psql not found")
        }
        return found
    }

    /// Waits until `condition` holds, up to `seconds`.
    static func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Every file under `directory`, as paths relative to it, sorted.
    static func tree(_ directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(item).path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(item)
            }
        }
        return files.sorted()
    }
}

// MARK: A tiny HTTP/1.1 server on 127.0.0.1 for webhook tests

/// Accepts connections on a background thread, records each request and answers with the next
/// status of `statuses` (the last one repeats).
final class SchedulingWebhookServer: @unchecked Sendable {
    struct Request: Sendable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: Data
    }

    private let lock = NSLock()
    private var recorded: [Request] = []
    private let statuses: [Int]
    private let listener: Int32
    let port: Int

    init(statuses: [Int]) throws {
        self.statuses = statuses.isEmpty ? [200] : statuses
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SchedulingTestFailure("socket failed") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = SchedulingSupport.loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw SchedulingTestFailure("bind/listen failed")
        }
        listener = descriptor
        port = try SchedulingSupport.boundPort(descriptor)
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/hooks/exports" }

    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Range<Data.Index>?
        var contentLength = 0
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            if count <= 0 { return }
            data.append(contentsOf: buffer[0..<count])
            if headerEnd == nil, let end = data.range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = end
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, parts[0].lowercased() == "content-length" {
                        contentLength = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let headerEnd, data.count - headerEnd.upperBound >= contentLength { break }
        }
        guard let headerEnd else { return }
        let head = String(decoding: data[..<headerEnd.lowerBound], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let body = Data(data[headerEnd.upperBound..<(headerEnd.upperBound + contentLength)])
        lock.lock()
        recorded.append(Request(method: requestLine.first.map(String.init) ?? "", path: requestLine.dropFirst().first.map(String.init) ?? "",
                                headers: headers, body: body))
        let status = statuses[min(recorded.count - 1, statuses.count - 1)]
        lock.unlock()
        let response = "HTTP/1.1 \(status) Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}

// MARK: A throwaway sshd on 127.0.0.1 for SFTP tests

/// Keys, known_hosts and an sshd of its own (`sshd -D -f <own config>`) on a loopback port,
/// accepting the test key for the current user.
final class SchedulingSSHServer: @unchecked Sendable {
    let directory: URL
    let port: Int
    let clientKey: String
    let knownHosts: String
    let user: String
    private var daemon: pid_t?

    static var sshdPath: String? {
        ["/usr/sbin/sshd", "/usr/local/sbin/sshd"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Prepares keys and config; `start()` starts the daemon.
    init(port: Int? = nil) throws {
        directory = try TestSupport.temporaryDirectory()
        self.port = try port ?? SchedulingSupport.freePort()
        user = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? String(cString: getpwuid(getuid()).pointee.pw_name)
        let hostKey = directory.appendingPathComponent("host_ed25519").path
        clientKey = directory.appendingPathComponent("client_ed25519").path
        for (path, comment) in [(hostKey, "iw-test-host"), (clientKey, "iw-test-client")] {
            let result = try SchedulingSupport.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
            guard result.status == 0 else { throw SchedulingTestFailure("ssh-keygen failed: \(result.error)") }
        }
        try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: directory.appendingPathComponent("authorized_keys").path)
        let hostPublic = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        knownHosts = directory.appendingPathComponent("known_hosts").path
        try "[127.0.0.1]:\(self.port) \(hostPublic)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let config = """
            Port \(self.port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            PidFile \(directory.appendingPathComponent("sshd.pid").path)
            AuthorizedKeysFile \(directory.appendingPathComponent("authorized_keys").path)
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            Subsystem sftp internal-sftp
            LogLevel ERROR

            """
        try config.write(to: directory.appendingPathComponent("sshd_config"), atomically: true, encoding: .utf8)
    }

    /// A key pair the server does not accept.
    func strangerKey() throws -> String {
        let path = directory.appendingPathComponent("stranger_ed25519").path
        if !FileManager.default.fileExists(atPath: path) {
            _ = try SchedulingSupport.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path])
        }
        return path
    }

    /// A known_hosts file that records another key for this server.
    func wrongKnownHosts() throws -> String {
        let other = directory.appendingPathComponent("other_host_ed25519").path
        _ = try SchedulingSupport.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
        let otherPublic = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let path = directory.appendingPathComponent("wrong_known_hosts").path
        try "[127.0.0.1]:\(port) \(otherPublic)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func start() throws {
        guard let sshd = Self.sshdPath else { throw SchedulingTestFailure("sshd is not installed (apt-get install openssh-server)") }
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        // posix_spawn + waitpid, not Foundation's Process: sshd closes every inherited descriptor,
        // which Foundation reads as "exited" and then blocks its monitor thread in waitpid.
        let log = directory.appendingPathComponent("sshd.log").path
        let pid = try Subprocess.spawn(sshd, ["-D", "-e", "-f", directory.appendingPathComponent("sshd_config").path],
                                       standardInput: "/dev/null", standardOutput: log, standardError: log)
        daemon = pid
        let started = SchedulingSupport.waitUntil(seconds: 10) {
            SchedulingSupport.isListening(port: port) || kill(pid, 0) != 0 || waitpid(pid, nil, WNOHANG) == pid
        }
        guard started, SchedulingSupport.isListening(port: port) else {
            stop()
            throw SchedulingTestFailure("sshd did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    func stop() {
        guard let pid = daemon else { return }
        daemon = nil
        kill(pid, SIGTERM)
        _ = Subprocess.wait(pid)
    }

    deinit { stop() }
}

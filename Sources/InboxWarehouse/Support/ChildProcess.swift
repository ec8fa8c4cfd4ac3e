import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and captures what it printed: for the tools the tool hands work
/// to (`sftp`, and the embedded cluster's `initdb` and `pg_ctl`). Output goes through files in a
/// private temporary directory, never pipes, so a descendant that outlives the program (pg_ctl's
/// server) cannot hold the caller up.
enum ChildProcess {
    struct Result {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Starts `executable` (searched on PATH when it has no slash) with `arguments`, standard
    /// input from /dev/null, in `currentDirectory` if given, and waits for it. The status is
    /// 128 + N when signal N ended it.
    static func run(_ executable: String, _ arguments: [String], currentDirectory: URL? = nil) throws -> Result {
        let scratch = try PrivateTemporaryDirectory(prefix: "inbox-warehouse-run")
        defer { scratch.remove() }
        let outputPath = scratch.appendingPathComponent("stdout").path
        let errorPath = scratch.appendingPathComponent("stderr").path
        let pid = try Subprocess.spawn(executable, arguments, standardInput: "/dev/null", standardOutput: outputPath,
                                       standardError: errorPath, currentDirectory: currentDirectory?.path)
        let status = Subprocess.wait(pid)
        return Result(status: status,
                      standardOutput: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
                      standardError: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
    }
}

/// Thin wrappers over posix_spawn and waitpid.
enum Subprocess {
    /// Starts `executable` (searched on PATH when it has no slash). Each standard stream is
    /// either a path to open or an already open descriptor to hand over.
    static func spawn(_ executable: String, _ arguments: [String], standardInput: String? = nil,
                      standardOutput: String? = nil, standardError: String? = nil,
                      standardOutputDescriptor: Int32? = nil, currentDirectory: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let standardInput { posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0) }
        if let standardOutputDescriptor { posix_spawn_file_actions_adddup2(&actions, standardOutputDescriptor, 1) }
        if let standardOutput { posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        if let standardError { posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        closeInheritedDescriptors(&actions)
        var command = [executable] + arguments
        var program = executable
        if let currentDirectory {
            // posix_spawn has no portable chdir action: let a shell change directory, then exec.
            command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", currentDirectory] + command
            program = "/bin/sh"
        }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = program.contains("/")
            ? posix_spawn(&pid, program, &actions, nil, argv, environ)
            : posix_spawnp(&pid, program, &actions, nil, argv, environ)
        guard result == 0 else {
            throw WarehouseError.io("cannot run \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Adds an action that closes every descriptor above the standard streams in the child, so
    /// a program we start (pg_ctl and the server it leaves running, sftp) never inherits what
    /// this process holds open without close-on-exec: `serve`'s listening socket, a library's
    /// sockets, a file being written. glibc 2.34+ has `posix_spawn_file_actions_addclosefrom_np`,
    /// which Swift's Glibc module does not declare, so it is looked up at run time; before 2.34,
    /// each descriptor open now is closed one by one (glibc ignores a close action on a
    /// descriptor that is no longer open).
    static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom = addCloseFrom {
            _ = addCloseFrom(&actions, 3)
            return
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            if let descriptor = Int32(name), descriptor > 2 { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Waits for the process; returns its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

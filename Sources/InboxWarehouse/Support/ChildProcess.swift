import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and captures what it printed: for the tools the export path
/// hands work to (`sftp`). Output goes through files in a private temporary directory, never
/// pipes, so a descendant that outlives the program cannot hold the caller up.
enum ChildProcess {
    struct Result {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Starts `executable` (searched on PATH when it has no slash) with `arguments`, standard
    /// input from /dev/null, and waits for it. The status is 128 + N when signal N ended it.
    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let scratch = try PrivateTemporaryDirectory(prefix: "inbox-warehouse-run")
        defer { scratch.remove() }
        let outputPath = scratch.appendingPathComponent("stdout").path
        let errorPath = scratch.appendingPathComponent("stderr").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = executable.contains("/")
            ? posix_spawn(&pid, executable, &actions, nil, argv, environ)
            : posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        guard started == 0 else {
            throw WarehouseError.io("cannot run \(executable): \(systemErrorMessage(started))")
        }
        var status: Int32 = 0
        var exitStatus: Int32 = -1
        while true {
            if waitpid(pid, &status, 0) >= 0 {
                exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                break
            }
            if errno != EINTR { break }
        }
        return Result(status: exitStatus,
                      standardOutput: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
                      standardError: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How to reach SFTP servers: the system OpenSSH `sftp` in batch mode with key authentication.
public struct SFTPSettings: Sendable {
    /// The private key (`-i`); nil lets ssh use its defaults (`~/.ssh/id_*`, an agent).
    public var identityFile: String?
    /// The known_hosts file the server's host key is checked against; nil is ssh's default
    /// (`~/.ssh/known_hosts`). Host keys are always checked strictly: an unknown or changed key
    /// is an error, never accepted silently.
    public var knownHostsFile: String?
    /// The `sftp` program.
    public var executable = "sftp"
    /// Seconds to wait for the TCP connection and the SSH handshake.
    public var connectTimeoutSeconds = 10

    public init() {}

    /// From the environment: `INBOX_WAREHOUSE_SFTP_KEY`, `INBOX_WAREHOUSE_SFTP_KNOWN_HOSTS`,
    /// `INBOX_WAREHOUSE_SFTP_PROGRAM`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SFTPSettings {
        var settings = SFTPSettings()
        settings.identityFile = environment["INBOX_WAREHOUSE_SFTP_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        settings.knownHostsFile = environment["INBOX_WAREHOUSE_SFTP_KNOWN_HOSTS"].flatMap { $0.isEmpty ? nil : $0 }
        if let program = environment["INBOX_WAREHOUSE_SFTP_PROGRAM"], !program.isEmpty { settings.executable = program }
        return settings
    }
}

/// Why an SFTP transfer failed, read from ssh's diagnostics.
public enum SFTPFailureKind: String, Sendable {
    /// The server refused the key.
    case authentication = "authentication failed"
    /// The server's host key is not in known_hosts, or differs from the one recorded there.
    case hostKey = "host key verification failed"
    /// No connection: refused, timed out, unknown host, no route.
    case unreachable = "host unreachable"
    /// Connected, but a command failed (permission, missing directory, disk full, ...).
    case transfer = "transfer failed"

    /// Whether trying again soon may help (a permanent failure waits for the next run-due).
    public var isTransient: Bool { self == .unreachable || self == .transfer }
}

public struct SFTPError: Error, CustomStringConvertible, Sendable {
    public let kind: SFTPFailureKind
    public let destination: String
    /// ssh's own explanation (its last meaningful stderr line).
    public let detail: String

    public var description: String { "sftp to \(destination): \(kind.rawValue): \(detail)" }
}

/// Uploads files with `sftp -b`: each file goes to a temporary name (`.NAME.partial`) and is
/// renamed into place, so the final name only ever shows a complete file.
public struct SFTPUploader: Sendable {
    public let settings: SFTPSettings

    public init(settings: SFTPSettings) { self.settings = settings }

    /// Uploads `files` (local path, remote file name) into `location.path/subdirectory`,
    /// creating the directories as needed. Returns the remote directory.
    @discardableResult
    public func upload(_ files: [(local: String, name: String)], to location: SFTPLocation, subdirectory: String) throws -> String {
        var components = location.path.split(separator: "/").map(String.init)
        components.append(subdirectory)
        let absolute = location.path.hasPrefix("/")
        var batch = ""
        var remoteDirectory = ""
        for component in components {
            remoteDirectory = remoteDirectory.isEmpty ? (absolute ? "/" : "") + component : remoteDirectory + "/" + component
            // "-" before a command: go on when it fails (the directory exists already).
            batch += "-mkdir \(quoted(remoteDirectory))\n"
        }
        for file in files {
            let partial = "\(remoteDirectory)/.\(file.name).partial"
            batch += "put \(quoted(file.local)) \(quoted(partial))\n"
            batch += "rename \(quoted(partial)) \(quoted(remoteDirectory + "/" + file.name))\n"
        }
        batch += "bye\n"

        let scratch = try PrivateTemporaryDirectory(prefix: "inbox-warehouse-sftp")
        defer { scratch.remove() }
        let batchPath = try scratch.writeFile(named: "batch", batch)

        var arguments = ["-b", batchPath, "-o", "LogLevel=ERROR",
                         "-o", "BatchMode=yes",
                         "-o", "StrictHostKeyChecking=yes",
                         "-o", "PasswordAuthentication=no",
                         "-o", "KbdInteractiveAuthentication=no",
                         "-o", "ConnectTimeout=\(settings.connectTimeoutSeconds)",
                         "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
        if let knownHosts = settings.knownHostsFile { arguments += ["-o", "UserKnownHostsFile=\(knownHosts)"] }
        if let key = settings.identityFile { arguments += ["-i", key, "-o", "IdentitiesOnly=yes"] }
        if let port = location.port { arguments += ["-P", String(port)] }
        let host = location.host.contains(":") ? "[\(location.host)]" : location.host
        arguments += ["--", "\(location.user)@\(host)"]

        let result = try ChildProcess.run(settings.executable, arguments)
        if result.status != 0 {
            throw Self.classify(status: result.status, standardError: result.standardError, destination: location.description)
        }
        return remoteDirectory
    }

    /// Reads ssh's and sftp's stderr into a failure kind and a one-line detail.
    static func classify(status: Int32, standardError: String, destination: String) -> SFTPError {
        let lines = standardError.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("@@@") && $0 != "Connection closed" && $0 != "Connection closed." }
        let text = standardError
        let kind: SFTPFailureKind
        if text.contains("Permission denied (") || text.contains("Too many authentication failures") || text.contains("no mutual signature") {
            kind = .authentication
        } else if text.contains("Host key verification failed") || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
                    || text.contains("host key is known") || text.contains("Host key for") {
            kind = .hostKey
        } else if text.contains("Connection refused") || text.contains("Connection timed out") || text.contains("timed out during banner")
                    || text.contains("Could not resolve hostname") || text.contains("No route to host")
                    || text.contains("Network is unreachable") || text.contains("Name or service not known")
                    || text.contains("Connection reset") || text.contains("kex_exchange_identification") {
            kind = .unreachable
        } else {
            kind = .transfer
        }
        let detail = lines.last(where: { $0.contains("denied") || $0.contains("verification") || $0.contains("connect to host") || $0.contains("Could not") })
            ?? lines.last ?? "sftp exited with status \(status)"
        return SFTPError(kind: kind, destination: destination, detail: String(detail.prefix(500)))
    }

    /// An sftp batch argument: double-quoted, with `\` and `"` escaped.
    private func quoted(_ path: String) -> String {
        "\"" + path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

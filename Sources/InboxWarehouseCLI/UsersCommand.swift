import ArgumentParser
import Foundation
import InboxWarehouse
import InboxWarehouseWeb
#if canImport(Glibc)
import Glibc
#endif

extension WebRole: ExpressibleByArgument {}

extension InboxWarehouseCommand {
    struct Users: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "users",
            abstract: "Manage the accounts of the web page (serve).",
            discussion: """
                An admin creates exports and schedules on the page; a viewer downloads them. \
                Passwords are stored as salted bcrypt hashes (pgcrypto), never in clear.

                Examples:
                  inbox-warehouse users add alice --role admin
                  printf '%s\\n' "$PASSWORD" | inbox-warehouse users add bob --role viewer
                  inbox-warehouse users list
                  inbox-warehouse users remove bob
                """,
            subcommands: [Add.self, List.self, Remove.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an account (or set the role and password of an existing one).",
                discussion: """
                    The password is read from standard input when it is not a terminal (its first \
                    line), else asked twice without echo. At least 8 characters, at most 72 bytes. \
                    Changing an account's password or role ends its sessions.
                    """)

            @OptionGroup var connection: ConnectionOptions

            @Argument(help: ArgumentHelp("The user name (letters, digits, '.', '_', '@', '-').", valueName: "name"))
            var name: String

            @Option(help: "admin (creates exports and schedules) or viewer (downloads).")
            var role: WebRole

            func run() throws {
                try reportingErrors {
                    let password = try readPassword()
                    let (database, _) = try connection.connectMigrated()
                    defer { database.close() }
                    let created = try UserStore(connection: database).add(name: name, role: role, password: password)
                    printStatus(created ? "created \(role.rawValue) \(name)" : "updated \(name): role \(role.rawValue), new password")
                }
            }

            private func readPassword() throws -> String {
                guard isatty(0) == 1 else {
                    guard let line = readLine(strippingNewline: true) else {
                        throw WarehouseError.invalidParameter("no password on standard input")
                    }
                    return line.hasSuffix("\r") ? String(line.dropLast()) : line
                }
                let first = try promptWithoutEcho("Password for \(name): ")
                let second = try promptWithoutEcho("Again: ")
                guard first == second else { throw WarehouseError.invalidParameter("the two passwords differ") }
                return first
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the accounts: name, role, creation time.")

            @OptionGroup var connection: ConnectionOptions

            func run() throws {
                try reportingErrors {
                    let (database, _) = try connection.connectMigrated()
                    defer { database.close() }
                    for user in try UserStore(connection: database).list() {
                        print("\(user.name)\t\(user.role.rawValue)\t\(user.createdAt)")
                    }
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove an account and end its sessions.")

            @OptionGroup var connection: ConnectionOptions

            @Argument(help: ArgumentHelp("The user name.", valueName: "name"))
            var name: String

            func run() throws {
                try reportingErrors {
                    let (database, _) = try connection.connectMigrated()
                    defer { database.close() }
                    guard try UserStore(connection: database).remove(name: name) else {
                        throw WarehouseError.invalidParameter("no user named \"\(name)\"")
                    }
                    printStatus("removed \(name)")
                }
            }
        }
    }
}

/// Asks on the terminal with echo off; the prompt goes to standard error.
private func promptWithoutEcho(_ prompt: String) throws -> String {
    FileHandle.standardError.write(Data(prompt.utf8))
    var saved = termios()
    guard tcgetattr(0, &saved) == 0 else { throw WarehouseError.io("cannot read the terminal's settings") }
    var silent = saved
    silent.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(0, TCSAFLUSH, &silent)
    defer {
        tcsetattr(0, TCSAFLUSH, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    guard let line = readLine(strippingNewline: true) else { throw WarehouseError.invalidParameter("no password given") }
    return line
}

import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand.Database {
    struct CheckFacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-facts",
            abstract: "Compare the facts the loader kept with a recomputation from the loaded tables.",
            discussion: """
                Prints one line per fact row that differs (facts.<relation> <key>: missing | extra | different) \
                on stdout and a summary on stderr. Exit status 0 when the facts are current, 1 when a row differs.
                """)

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let differences = try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                defer { database.close() }
                return try Facts.differences(database)
            }
            for difference in differences { print(difference.description) }
            if differences.isEmpty {
                printStatus("facts are current: every kept row equals its recomputation")
            } else {
                printStatus("\(differences.count) fact row(s) differ from a recomputation; `inbox-warehouse db rebuild-facts` recomputes them")
                throw ExitCode(1)
            }
        }
    }

    struct RebuildFacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rebuild-facts",
            abstract: "Recompute every fact from the loaded tables (in one transaction).")

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            try reportingErrors {
                let (database, report) = try connection.connectMigrated()
                defer { database.close() }
                if report.factsRebuilt {
                    printStatus("facts rebuilt (their definitions changed)")
                    return
                }
                let started = Date()
                try database.transaction { try Facts.rebuild(database) }
                printStatus(String(format: "facts rebuilt in %.1f s", Date().timeIntervalSince(started)))
            }
        }
    }
}

import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct SQLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "The SQL the tool carries: migrations, export views and their header files.",
            subcommands: [Dump.self])
    }
}

extension InboxWarehouseCommand.SQLCommand {
    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the SQL files into a directory, laid out as the repository's sql/ folder.",
            discussion: """
                For psql users and reviewers: DIR/migrations/NNNN_*.sql (apply in number order), \
                DIR/exports/shared/*.sql then DIR/exports/*.sql (the export functions and views, in \
                name order, in a schema named export), and DIR/exports/*.headers.tsv (each export's \
                headers). The files are the ones this binary uses: those compiled into it, or \
                $INBOX_WAREHOUSE_SQL_DIR's when that is set. Existing files of the same names are \
                replaced; nothing else in DIR is touched.

                Example:
                  inbox-warehouse sql dump ./inbox-warehouse-sql
                """)

        @Argument(help: ArgumentHelp("The directory to write into (created if missing).", valueName: "dir"))
        var directory: String

        @Flag(help: "Print nothing but errors.")
        var quiet = false

        func run() throws {
            try reportingErrors {
                let resources = try SQLResources.bundled()
                let written = try resources.dump(to: URL(fileURLWithPath: directory, isDirectory: true))
                if !quiet { printStatus("wrote \(written.count) files from \(resources.origin) to \(directory)") }
            }
        }
    }
}

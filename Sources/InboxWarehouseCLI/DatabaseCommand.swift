import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct Database: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db",
            abstract: "Manage the database: the embedded cluster and the schema.",
            subcommands: [Start.self, Stop.self, Status.self, URL.self, Migrate.self, CheckFacts.self, RebuildFacts.self]
        )
    }
}

private func embeddedCluster() -> EmbeddedCluster {
    EmbeddedCluster(home: EmbeddedCluster.defaultHome())
}

extension InboxWarehouseCommand.Database {
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (on first use) and start the embedded PostgreSQL cluster.",
            discussion: """
                The cluster lives under $INBOX_WAREHOUSE_HOME (default ./.inbox-warehouse) and listens only on a unix \
                socket there, never on TCP. The home must be a real directory (not a symbolic link) that belongs to \
                you and that others cannot write; the tool creates it (mode 0700) when it does not exist. As root, \
                the server runs as the postgres user, which then owns the home: let the tool create it, e.g. \
                INBOX_WAREHOUSE_HOME=/var/lib/inbox-warehouse. A cluster is only started once it is complete: a \
                first start that was interrupted is built again.
                """)

        func run() throws {
            try reportingErrors {
                let cluster = embeddedCluster()
                let started = try cluster.ensureRunning()
                printStatus(started ? "started the embedded cluster in \(cluster.home.path)" : "the embedded cluster in \(cluster.home.path) is already running")
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the embedded PostgreSQL cluster.",
            discussion: "The cluster then stays stopped: a running `scheduler` waits instead of starting it again, until `db start` (or another command that needs the database) starts it.")

        func run() throws {
            try reportingErrors {
                let cluster = embeddedCluster()
                let stopped = try cluster.stop()
                printStatus(stopped ? "stopped the embedded cluster in \(cluster.home.path)" : "the embedded cluster in \(cluster.home.path) is not running")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show whether the embedded cluster exists and runs.",
            discussion: "Prints one of: running, stopped, not created. Exit status 0 when running, 3 otherwise.")

        func run() throws {
            let state = try reportingErrors { try embeddedCluster().state() }
            switch state {
            case .running: print("running")
            case .stopped: print("stopped"); throw ExitCode(3)
            case .notCreated: print("not created"); throw ExitCode(3)
            }
        }
    }

    struct URL: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the database URL (for psql) and start the embedded cluster if needed.",
            discussion: "Example: psql \"$(inbox-warehouse db url)\". Passwords in a configured URL are shown as **** unless --show-password is given.")

        @OptionGroup var connection: ConnectionOptions

        @Flag(name: .customLong("show-password"), help: "Print a configured URL with its password.")
        var showPassword = false

        func run() throws {
            try reportingErrors {
                let target = connection.target
                switch target {
                case .embedded(let cluster):
                    try cluster.ensureRunning()
                    print(cluster.url)
                case .url(let url):
                    print(showPassword ? url : target.displayURL)
                case .environment:
                    print("")
                }
            }
        }
    }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending schema migrations and (re)create the export views.",
            discussion: "Migrations are numbered and forward-only; each runs in one transaction. Loads and exports migrate automatically.")

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            try reportingErrors {
                let (_, report) = try connection.connectMigrated()
                if report.applied.isEmpty {
                    printStatus("schema is up to date (version \(report.schemaVersion))")
                } else {
                    printStatus("applied \(report.applied.joined(separator: ", ")); schema version \(report.schemaVersion)")
                }
                if report.exportViewsRecreated { printStatus("export views created") }
            }
        }
    }
}

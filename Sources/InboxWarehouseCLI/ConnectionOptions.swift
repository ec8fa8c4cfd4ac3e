import ArgumentParser
import Foundation
import InboxWarehouse
import PostgresLibPQ

/// How to reach the database; shared by every command that needs one.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: ArgumentHelp("A libpq URI or connection string of your own server (default: $DATABASE_URL, else the embedded cluster).",
                               valueName: "url"))
    var databaseURL: String?

    @Flag(name: .customLong("no-embedded"),
          help: "Without a URL, connect with libpq's own defaults (PGHOST, PGDATABASE, ~/.pgpass, ...) instead of the embedded cluster.")
    var noEmbedded = false

    var target: DatabaseTarget {
        DatabaseTarget.resolve(url: databaseURL, embedded: !noEmbedded)
    }

    /// Connects and brings the schema up to date. With `startingStoppedCluster` false, an
    /// embedded cluster stopped with `db stop` stays stopped (`EmbeddedCluster.StoppedOnPurpose`).
    func connectMigrated(startingStoppedCluster: Bool = true) throws -> (Connection, Migrator.Report) {
        let connection = try target.connect(startingStoppedCluster: startingStoppedCluster)
        let report = try Migrator(resources: try SQLResources.bundled()).migrate(connection)
        return (connection, report)
    }
}

/// Runs a command body, turning known errors into one clean line on stderr and exit status 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as WarehouseError {
        printError(error.description)
        throw ExitCode(1)
    } catch let error as PostgresError {
        printError("PostgreSQL: \(error)")
        throw ExitCode(1)
    } catch let error as PostgresClientError {
        printError(error.description)
        throw ExitCode(1)
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("inbox-warehouse: error: \(message)\n".utf8))
}

func printStatus(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}

var standardErrorIsTerminal: Bool { isatty(2) == 1 }

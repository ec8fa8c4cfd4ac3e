import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an inbox's data from its own database into the warehouse.",
            discussion: """
                `import chatwoot ... --save-as NAME` saves a source's settings (never a password); \
                `import run NAME` imports it again, and `schedule add ... --import chatwoot:NAME` \
                imports it before each scheduled export. See docs/sources/chatwoot.md.
                """,
            subcommands: [Chatwoot.self, Run.self, List.self, Remove.self])
    }
}

extension InboxWarehouseCommand.Import {
    struct Chatwoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import one Chatwoot account from Chatwoot's PostgreSQL database.",
            discussion: """
                Reads the account read-only, in one consistent snapshot, converts it to the inbox \
                event log and loads it as `load` does (validation, rejects, re-delivery rule). The \
                first run reads everything; later runs read what changed since the high-water marks \
                the last run stored (warehouse.import_marks). Importing twice changes nothing. The \
                mapping is in docs/sources/chatwoot.md.

                The source's credentials come from libpq's usual places: the URL, PGPASSWORD, \
                ~/.pgpass (PGPASSFILE), a service in pg_service.conf (service=name); sslmode and \
                the other libpq settings in the URL apply. The URL's password is never printed.

                Examples:
                  inbox-warehouse import chatwoot --source-url "postgresql://reader@chatwoot-db/chatwoot_production?sslmode=require" --account-id 1
                  inbox-warehouse import chatwoot --source-url "service=chatwoot" --account-id 3 --full
                  inbox-warehouse import chatwoot --source-url "$CHATWOOT_DB" --account-id 1 --since 2026-03-01T00:00:00Z
                  inbox-warehouse import chatwoot --source-url "service=chatwoot" --account-id 1 --save-as acme

                --save-as NAME saves the source's settings in the warehouse once the import has run \
                (replacing those saved under NAME before), for `import run NAME` and for schedules \
                (`schedule add ... --import chatwoot:NAME`). A saved source URL must not carry a \
                password: the scheduler's libpq finds it in PGPASSWORD, ~/.pgpass (PGPASSFILE) or a \
                service file, so no secret is stored in the warehouse.

                Exit status: 0 every record loaded; 2 some records were rejected (the rest loaded; \
                see warehouse.load_rejects); 1 failure; 64 invalid command line.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(name: .customLong("source-url"),
                help: ArgumentHelp("The Chatwoot database: a libpq URI or connection string (read-only access is enough).",
                                   valueName: "url"))
        var sourceURL: String

        @Option(name: .customLong("account-id"), help: ArgumentHelp("The Chatwoot account to import (accounts.id).", valueName: "n"))
        var accountID: Int64

        @Option(help: ArgumentHelp("Read only rows changed at or after this instant (RFC 3339); the stored marks stay as they are.",
                                   valueName: "instant"))
        var since: String?

        @Flag(help: "Read everything, whatever the stored marks say, and refresh them.")
        var full = false

        @Option(name: .customLong("source-name"),
                help: ArgumentHelp("The first part of every imported id (cw:1:conversation:42); one name per Chatwoot installation.",
                                   valueName: "name"))
        var sourceName = "cw"

        @Option(name: .customLong("chatwoot-url"),
                help: ArgumentHelp("Chatwoot's web address, for the Conversation URL column (https://app.chatwoot.com).", valueName: "url"))
        var chatwootURL: String?

        @OptionGroup var output: LoadOutputOptions

        @Option(name: .customLong("save-as"),
                help: ArgumentHelp("Save these settings as a named source for `import run` and `schedule add --import chatwoot:NAME` (the URL must not carry a password).",
                                   valueName: "name"))
        var saveAs: String?

        func validate() throws {
            if full && since != nil { throw ValidationError("--full and --since exclude each other") }
            if let saveAs {
                guard ImportSourceStore.isValidName(saveAs) else {
                    throw ValidationError("--save-as must be 1 to 100 letters, digits, ., _ or -")
                }
                do {
                    try ImportSourceStore.check(conninfo: sourceURL)
                } catch let error as WarehouseError {
                    throw ValidationError("--save-as: \(error.description)")
                }
            }
            if accountID < 1 { throw ValidationError("--account-id must be a positive integer") }
            if !ChatwootImportOptions.isValidSourceName(sourceName) {
                throw ValidationError("--source-name must be 1 to 40 letters, digits, _ or -")
            }
            if sourceURL.isEmpty { throw ValidationError("--source-url must name the Chatwoot database") }
        }

        func run() throws {
            let mode: ChatwootImportOptions.Mode = full ? .full : since.map { .since($0) } ?? .incremental
            let options = ChatwootImportOptions(accountID: accountID, sourceName: sourceName, mode: mode, chatwootURL: chatwootURL,
                                                batchLines: output.batchLines, rejectsPath: output.rejects)
            if !output.quiet && !output.json { printStatus("importing Chatwoot account \(accountID) from \(redactPassword(sourceURL))") }
            let (summary, saved) = try reportingErrors { () throws -> (ChatwootImportSummary, (source: ImportSource, replaced: Bool)?) in
                let (database, _) = try connection.connectMigrated()
                let importer = ChatwootImporter(sourceConninfo: sourceURL, warehouse: database, options: options)
                let summary = try cancellingOnInterrupt(database) { try importer.run() }
                guard let saveAs else { return (summary, nil) }
                let definition = ImportSourceDefinition(name: saveAs, conninfo: sourceURL, accountID: accountID, sourceName: sourceName,
                                                        chatwootURL: chatwootURL)
                return (summary, try ImportSourceStore(connection: database).save(definition))
            }
            if output.json {
                printImportJSON(summary, accountID: accountID, sourceName: sourceName, savedAs: saved?.source.reference)
            } else if !output.quiet {
                printImportSummary(summary, rejects: output.rejects)
                if let (source, replaced) = saved {
                    printStatus("saved as source \(source.reference)\(replaced ? ", replacing its previous settings" : "") "
                                + "(import run \(source.name); schedule add ... --import \(source.reference))")
                }
            }
            if summary.load.rejected > 0 { throw ExitCode(2) }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a saved source again (incrementally, as a schedule does).",
            discussion: """
                Runs the import saved with `import chatwoot ... --save-as NAME`: the same settings, \
                the same high-water marks. The password comes from libpq's usual places \
                (PGPASSWORD, ~/.pgpass or PGPASSFILE, a service file).

                Exit status: 0 every record loaded; 2 some records were rejected; 1 failure; 64 \
                invalid command line.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The saved source's name.")
        var name: String

        @Flag(help: "Read everything, whatever the stored marks say, and refresh them.")
        var full = false

        @OptionGroup var output: LoadOutputOptions

        func run() throws {
            let (source, summary) = try reportingErrors { () throws -> (ImportSource, ChatwootImportSummary) in
                let (database, _) = try connection.connectMigrated()
                let store = ImportSourceStore(connection: database)
                guard let source = try store.named(name) else { throw WarehouseError.invalidParameter("no saved source named \"\(name)\"") }
                if !output.quiet && !output.json {
                    printStatus("importing \(source.reference): Chatwoot account \(source.accountID) from \(redactPassword(source.conninfo))")
                }
                let summary = try cancellingOnInterrupt(database) {
                    try store.run(source, mode: full ? .full : .incremental, batchLines: output.batchLines, rejectsPath: output.rejects)
                }
                return (source, summary)
            }
            if output.json {
                printImportJSON(summary, accountID: source.accountID, sourceName: source.sourceName, savedAs: nil)
            } else if !output.quiet {
                printImportSummary(summary, rejects: output.rejects)
            }
            if summary.load.rejected > 0 { throw ExitCode(2) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the saved sources.")

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                let sources = try ImportSourceStore(connection: database).list()
                if json {
                    print(try sortedJSONText(sources))
                    return
                }
                var rows = [["NAME", "KIND", "ACCOUNT", "ID PREFIX", "CHATWOOT URL", "SOURCE URL"]]
                for source in sources {
                    rows.append([source.name, source.kind, String(source.accountID), source.sourceName, source.chatwootURL ?? "-",
                                 redactPassword(source.conninfo)])
                }
                print(columnsText(rows), terminator: "")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a saved source (refused while a schedule imports it; the imported data and marks stay).")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The saved source's name.")
        var name: String

        func run() throws {
            try reportingErrors {
                let (database, _) = try connection.connectMigrated()
                guard try ImportSourceStore(connection: database).remove(name: name) else {
                    throw WarehouseError.invalidParameter("no saved source named \"\(name)\"")
                }
                printStatus("removed source \(name)")
            }
        }
    }
}

/// The human summary of an import, on stderr.
private func printImportSummary(_ summary: ChatwootImportSummary, rejects: String?) {
    printStatus("mode: \(summary.mode)")
    for file in summary.load.files {
        printStatus("  \(file.source): \(file.lines) records, \(file.loaded) loaded, \(file.rejected) rejected")
    }
    let kinds = Set(summary.load.loadedByKind.keys).union(summary.load.rejectedByKind.keys).sorted()
    for kind in kinds {
        let name = kind.padding(toLength: max(18, kind.count), withPad: " ", startingAt: 0)
        printStatus(String(format: "  %@ %10lld loaded %8lld rejected", name as NSString,
                           summary.load.loadedByKind[kind] ?? 0, summary.load.rejectedByKind[kind] ?? 0))
    }
    let counters = summary.counters
    printStatus("\(counters.conversations) conversations; \(counters.privateNotes) private notes and "
                + "\(counters.activityMessages) activity messages read but not loaded as messages")
    printStatus(String(format: "%lld records loaded, %lld rejected in %.2f s", summary.load.loaded, summary.load.rejected,
                       summary.load.seconds))
    if summary.marks.isEmpty {
        printStatus("high-water marks left as they were (--since)")
    } else {
        printStatus("high-water marks: " + summary.marks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "; "))
    }
    if summary.load.rejected > 0 {
        printStatus("rejects are kept in warehouse.load_rejects" + (rejects.map { " and \($0)" } ?? ""))
    }
}

/// The JSON summary of an import, on stdout.
private func printImportJSON(_ summary: ChatwootImportSummary, accountID: Int64, sourceName: String, savedAs: String?) {
    struct StreamJSON: Encodable {
        let source: String, load_id: Int64, records: Int64, loaded: Int64, rejected: Int64
    }
    struct SummaryJSON: Encodable {
        let mode: String, account_id: Int64, source_name: String, conversations: Int
        let private_notes: Int, activity_messages: Int, streams: [StreamJSON]
        let loaded_by_kind: [String: Int64], rejected_by_kind: [String: Int64]
        let loaded: Int64, rejected: Int64, seconds: Double, marks: [String: String]
        let saved_as: String?
    }
    let value = SummaryJSON(
        mode: summary.mode, account_id: accountID, source_name: sourceName, conversations: summary.counters.conversations,
        private_notes: summary.counters.privateNotes, activity_messages: summary.counters.activityMessages,
        streams: summary.load.files.map {
            StreamJSON(source: $0.source, load_id: $0.loadID, records: $0.lines, loaded: $0.loaded, rejected: $0.rejected)
        },
        loaded_by_kind: summary.load.loadedByKind, rejected_by_kind: summary.load.rejectedByKind,
        loaded: summary.load.loaded, rejected: summary.load.rejected,
        seconds: (summary.load.seconds * 1000).rounded() / 1000, marks: summary.marks, saved_as: savedAs)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load inbox event logs (NDJSON, optionally .gz) into the warehouse.",
            discussion: """
                Every line is validated against the input contract. Valid records are upserted by \
                key (a later or equal updated_at replaces the stored record); invalid ones are \
                rejected with file, line and reason, kept in warehouse.load_rejects, and the rest \
                of the file still loads.

                Examples:
                  inbox-warehouse load examples/sample.ndjson
                  zcat log.ndjson.gz | inbox-warehouse load -
                  inbox-warehouse load --strict --rejects rejects.ndjson day1.ndjson.gz day2.ndjson.gz

                A rejected line longer than 64 KiB keeps its first 64 KiB in the reject; its reason \
                ends with the whole line's length and sha256.

                --rejects FILE: a regular file is created (mode 0600: rejects hold raw input) or \
                truncated and written in place, keeping its mode (a symbolic link to it is followed). A FIFO, a character device such as /dev/null, \
                and /dev/stdout, /dev/stderr or /dev/fd/N are written in place: never replaced, \
                and a standard stream is written through the descriptor the command already has. \
                A directory, a block device or a dangling symbolic link is refused. If the file \
                cannot be written completely (a full disk, a closed FIFO), the load still \
                completes and the command exits 1: every reject is in warehouse.load_rejects.

                SIGINT (Ctrl-C) or SIGTERM stops a load within a fraction of a second, also in the \
                middle of a long line or while standard input is quiet: the batch in progress is \
                rolled back, committed batches stay, and the command exits 1. Running the load \
                again is safe. With --strict, standard input is spooled to a private temporary \
                file (mode 0600, in $TMPDIR or /tmp) that is unlinked at once.

                Exit status: 0 every record loaded; 2 some records were rejected (the rest loaded; \
                with --strict, files with rejects loaded nothing); 1 failure, cancel, or a \
                --rejects file that could not be written.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Load nothing from a file that has any invalid record.")
        var strict = false

        @OptionGroup var output: LoadOutputOptions

        @Argument(help: ArgumentHelp("Event log files; - reads standard input; .gz files are decompressed.", valueName: "file"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("name at least one file to load (or - for standard input)") }
        }

        func run() throws {
            // A --rejects FIFO or stream whose reader went away fails the write (EPIPE), which is
            // reported, instead of killing the command silently.
            signal(SIGPIPE, SIG_IGN)
            let (summary, rejectsFailure) = try reportingErrors { () throws -> (LoadSummary, RejectsFileError?) in
                let (database, _) = try connection.connectMigrated()
                let loader = Loader(connection: database,
                                    options: LoadOptions(isStrict: strict, rejectsPath: output.rejects, batchLines: output.batchLines))
                if standardErrorIsTerminal && !output.quiet {
                    loader.progressHandler = { progress in
                        var text = "\r\(progress.source): \(progress.lines) lines"
                        if let total = progress.totalBytes, total > 0 {
                            text += String(format: " (%.0f%%)", Double(progress.bytesRead) * 100 / Double(total))
                        }
                        if progress.rejected > 0 { text += ", \(progress.rejected) rejected" }
                        FileHandle.standardError.write(Data((text + "\u{1B}[K").utf8))
                    }
                }
                defer { if standardErrorIsTerminal && !output.quiet { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
                do {
                    let summary = try stoppingOnInterrupt(loader) {
                        try cancellingOnInterrupt(database) { try loader.load(files.map(LoadSource.init(argument:))) }
                    }
                    return (summary, nil)
                } catch let error as RejectsFileError {
                    return (error.summary, error)
                }
            }
            if output.json { printJSON(summary) } else if !output.quiet { printSummary(summary, rejectsWritten: rejectsFailure == nil) }
            if let rejectsFailure {
                printError(rejectsFailure.description)
                throw ExitCode(1)
            }
            if summary.rejected > 0 { throw ExitCode(2) }
        }

        /// Runs `body` with SIGINT and SIGTERM also cancelling the loader's own work (reading and
        /// validating lines), which a cancel request to the server alone does not reach: a load
        /// inside a long line ran on. The load then fails with `Loader.cancelledMessage`.
        private func stoppingOnInterrupt<T>(_ loader: Loader, _ body: () throws -> T) throws -> T {
            let cancellation = loader.cancellation
            let queue = DispatchQueue(label: "inbox-warehouse.load-signals")
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { cancellation.cancel() }
                source.resume()
                sources.append(source)
            }
            defer { for source in sources { source.cancel() } }
            return try body()
        }

        private func printJSON(_ summary: LoadSummary) {
            struct FileJSON: Encodable {
                let source: String, load_id: Int64, sha256: String?, bytes: Int64, lines: Int64, loaded: Int64, rejected: Int64
                let skipped_by_strict: Bool
            }
            struct SummaryJSON: Encodable {
                let files: [FileJSON], loaded_by_kind: [String: Int64], rejected_by_kind: [String: Int64]
                let loaded: Int64, rejected: Int64, seconds: Double
            }
            let value = SummaryJSON(
                files: summary.files.map { FileJSON(source: $0.source, load_id: $0.loadID, sha256: $0.sha256, bytes: $0.bytes, lines: $0.lines,
                                                    loaded: $0.loaded, rejected: $0.rejected, skipped_by_strict: $0.skippedByStrict) },
                loaded_by_kind: summary.loadedByKind, rejected_by_kind: summary.rejectedByKind,
                loaded: summary.loaded, rejected: summary.rejected, seconds: (summary.seconds * 1000).rounded() / 1000)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
        }

        private func printSummary(_ summary: LoadSummary, rejectsWritten: Bool) {
            for file in summary.files {
                var line = "\(file.source): \(file.lines) lines, \(file.loaded) loaded, \(file.rejected) rejected"
                if file.skippedByStrict { line += " (--strict: nothing loaded from this file)" }
                printStatus(line)
            }
            let kinds = Set(summary.loadedByKind.keys).union(summary.rejectedByKind.keys).sorted()
            for kind in kinds {
                let name = kind.padding(toLength: max(18, kind.count), withPad: " ", startingAt: 0)
                printStatus(String(format: "  %@ %10lld loaded %8lld rejected", name as NSString,
                                   summary.loadedByKind[kind] ?? 0, summary.rejectedByKind[kind] ?? 0))
            }
            let rate = summary.seconds > 0 ? Double(summary.lines) / summary.seconds : 0
            printStatus(String(format: "%lld records loaded, %lld rejected in %.2f s (%.0f lines/s)",
                               summary.loaded, summary.rejected, summary.seconds, rate))
            if summary.rejected > 0 {
                printStatus("rejects are kept in warehouse.load_rejects" + (rejectsWritten ? output.rejects.map { " and \($0)" } ?? "" : ""))
            }
        }
    }
}

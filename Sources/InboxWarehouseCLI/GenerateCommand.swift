import ArgumentParser
import Foundation
import InboxWarehouse

extension InboxWarehouseCommand {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a realistic sample inbox event log (NDJSON).",
            discussion: """
                Channels over six media, human agents in teams with daily presence shifts, virtual \
                agents, a pool of returning contacts with attributes, then conversations following \
                daily and weekly traffic cycles: bot conversations resolved or handed over, queue \
                entries, locks (handling, no-reply, cherry-picking), replies, pending and resolved \
                statuses, reopenings, auto-resolves, topics, tags, CSAT surveys, deleted messages; \
                some conversations are still open at the end. Every line follows the input contract.

                The output depends only on the options: the same seed gives the same bytes. \
                --redeliver adds re-delivered lines (exact duplicates and superseded versions, out \
                of order); loading the result gives the same warehouse state as without it.

                Examples:
                  inbox-warehouse generate --conversations 5000 --output sample.ndjson
                  inbox-warehouse generate --conversations 200000 --days 90 --start 2026-01-01 --seed 7 | inbox-warehouse load -
                  inbox-warehouse generate --redeliver 0.05 --output redelivered.ndjson
                """)

        @Option(help: "Number of conversations.")
        var conversations = 1000

        @Option(help: "Number of days of traffic, from --start.")
        var days = 30

        @Option(help: ArgumentHelp("The first day (YYYY-MM-DD, UTC).", valueName: "date"))
        var start = "2026-03-01"

        @Option(help: "Seed of the pseudo-random generator.")
        var seed: UInt64 = 42

        @Option(name: .customLong("redeliver"),
                help: ArgumentHelp("Fraction (0 to 1) of extra re-delivered lines: duplicates and superseded versions, out of order.",
                                   valueName: "fraction"))
        var redeliveryFraction = 0.0

        @Option(help: ArgumentHelp("The output file, or - for standard output.", valueName: "file"))
        var output = "-"

        @Flag(help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            if conversations < 0 { throw ValidationError("--conversations must be 0 or more") }
            if days < 1 || days > GeneratorOptions.maximumDays {
                throw ValidationError("--days must be from 1 to \(GeneratorOptions.maximumDays)")
            }
            if GeneratorOptions.startDate(parsing: start) == nil {
                throw ValidationError("--start \"\(start)\" is not a date (YYYY-MM-DD)")
            }
            if !(redeliveryFraction >= 0 && redeliveryFraction <= 1) {
                throw ValidationError("--redeliver must be a fraction from 0 to 1")
            }
            if output.isEmpty { throw ValidationError("--output needs a file name (or - for standard output)") }
        }

        func run() throws {
            let options = GeneratorOptions(
                conversations: conversations, days: days,
                start: GeneratorOptions.startDate(parsing: start) ?? GeneratorOptions.defaultStart,
                seed: seed, redeliveryFraction: redeliveryFraction)
            let began = Date()
            let stats = try reportingErrors {
                let generator = EventLogGenerator(options: options)
                if output == "-" {
                    return try generator.write { try writeAll(fileDescriptor: 1, $0, name: "standard output") }
                }
                if !isRegularFileOrAbsent(output) {
                    // A device, a FIFO, a symbolic link: written in place, never replaced.
                    let descriptor = open(output, O_WRONLY | O_TRUNC)
                    guard descriptor >= 0 else {
                        throw WarehouseError.io("cannot open \(output): \(String(cString: strerror(errno)))")
                    }
                    defer { close(descriptor) }
                    return try generator.write { try writeAll(fileDescriptor: descriptor, $0, name: output) }
                }
                // A regular file is written under a temporary name and renamed when complete.
                let temporary = output + ".tmp-\(getpid())"
                let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0o644)
                guard descriptor >= 0 else {
                    throw WarehouseError.io("cannot create \(temporary): \(String(cString: strerror(errno)))")
                }
                var isOpen = true
                do {
                    let stats = try generator.write { try writeAll(fileDescriptor: descriptor, $0, name: output) }
                    isOpen = false
                    guard close(descriptor) == 0 else {
                        throw WarehouseError.io("cannot write \(output): \(String(cString: strerror(errno)))")
                    }
                    guard rename(temporary, output) == 0 else {
                        throw WarehouseError.io("cannot rename \(temporary) to \(output): \(String(cString: strerror(errno)))")
                    }
                    return stats
                } catch {
                    if isOpen { close(descriptor) }
                    unlink(temporary)
                    throw error
                }
            }
            if !quiet { printSummary(stats, seconds: Date().timeIntervalSince(began)) }
        }

        private func printSummary(_ stats: GeneratorStats, seconds: Double) {
            let rate = seconds > 0 ? Double(stats.lines) / seconds : 0
            printStatus(String(format: "%d conversations, %d lines (%d records, %d duplicates, %d superseded versions), %.1f MB in %.2f s (%.0f lines/s)",
                               stats.conversations, stats.lines, stats.records, stats.duplicates,
                               stats.supersededVersions, Double(stats.bytes) / 1_000_000, seconds, rate))
            for kind in EventLogGenerator.recordKinds {
                guard let count = stats.linesByKind[kind] else { continue }
                let name = kind.padding(toLength: 18, withPad: " ", startingAt: 0)
                printStatus("  \(name) \(String(count).leftPadded(to: 10))")
            }
            printStatus("\(stats.humanAgents) human and \(stats.virtualAgents) virtual agents in \(stats.teams) teams, "
                        + "\(stats.channels) channels, \(stats.contacts) contacts; "
                        + "export range: --from \(day(stats.start)) --to \(day(stats.end.addingTimeInterval(-86_400)))")
        }

        private func day(_ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            return formatter.string(from: date)
        }
    }
}

/// Whether `path` names a regular file (not through a symbolic link) or nothing yet: only then is
/// the output written beside it and renamed over it.
private func isRegularFileOrAbsent(_ path: String) -> Bool {
    var info = stat()
    guard lstat(path, &info) == 0 else { return errno == ENOENT }
    return (info.st_mode & S_IFMT) == S_IFREG
}

/// Writes every byte of `buffer` to a file descriptor (retrying short writes and EINTR).
private func writeAll(fileDescriptor: Int32, _ buffer: UnsafeRawBufferPointer, name: String) throws {
    guard var pointer = buffer.baseAddress else { return }
    var remaining = buffer.count
    while remaining > 0 {
        let written = write(fileDescriptor, pointer, remaining)
        if written < 0 {
            if errno == EINTR { continue }
            throw WarehouseError.io("cannot write \(name): \(String(cString: strerror(errno)))")
        }
        pointer += written
        remaining -= written
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

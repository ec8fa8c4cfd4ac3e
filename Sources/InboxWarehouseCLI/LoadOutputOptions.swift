import ArgumentParser

/// The loader's options that `load`, `import chatwoot` and `import run` share: where rejects go
/// besides the warehouse, the batch size, and what is printed.
struct LoadOutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also write every reject as an NDJSON line {\"source\",\"line\",\"reason\",\"raw\"} (a file, FIFO, /dev/null or /dev/stderr: see `inbox-warehouse load --help`).",
                               valueName: "file"))
    var rejects: String?

    @Option(name: .customLong("batch-lines"), help: "Lines per transaction.")
    var batchLines = 50_000

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func validate() throws {
        if batchLines < 1 { throw ValidationError("--batch-lines must be positive") }
    }
}

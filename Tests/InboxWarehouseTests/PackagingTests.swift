import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Static checks of the container packaging: `Dockerfile`, `.dockerignore` and
/// `docker-compose.yml`. Docker is not available where these tests run, so they never build or
/// start anything; they parse the files and check their structure and that every path they
/// name exists in the repository. No database is needed.
///
/// The compose file is YAML, and the package has no YAML parser (nor may it gain one), so it is
/// converted to JSON by `python3` with PyYAML. Without PyYAML the compose tests fail with a
/// message saying how to install it; they are never skipped.
@Suite("Packaging (Dockerfile, docker-compose.yml)")
struct PackagingTests {
    /// The repository's top folder: this file is `Tests/InboxWarehouseTests/PackagingTests.swift`.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The tool's subcommands; a container command must start with one of them.
    static let subcommands: Set<String> = ["load", "export", "db", "scheduler", "schedule", "--help", "--version", "help"]

    // MARK: docker-compose.yml

    @Test("PyYAML is available to read docker-compose.yml")
    func pyYAMLIsInstalled() throws {
        _ = try PackagingCompose.load()
    }

    @Test("the postgres, migrate, warehouse and scheduler services exist; no service runs a command that does not exist")
    func servicesExist() throws {
        let compose = try PackagingCompose.load()
        for name in ["postgres", "migrate", "warehouse", "scheduler"] {
            #expect(compose.service(name) != nil, "docker-compose.yml has no `\(name)` service")
        }
        let scheduler = try #require(compose.service("scheduler"))
        #expect(PackagingCompose.strings(scheduler["command"]).first == "scheduler", "the scheduler service must run `scheduler`")
        #expect(scheduler["restart"] as? String == "unless-stopped", "the scheduler is long-running: `restart: unless-stopped`")
        #expect(!PackagingCompose.strings(scheduler["profiles"]).isEmpty, "the scheduler is opt-in: it belongs in a profile")
        #expect(PackagingCompose.environment(scheduler)["DATABASE_URL"]?.contains("@postgres:5432/") == true)
        // Every subcommand named here exists in the tool.
        let help = try TestSupport.runCLI(["--help"]).standardOutput
        for command in Self.subcommands where !command.hasPrefix("-") && command != "help" {
            #expect(help.contains("  \(command) "), "`inbox-warehouse --help` lists no `\(command)` subcommand")
        }
        for (name, service) in compose.services where service["build"] != nil || (service["image"] as? String)?.hasPrefix("inbox-warehouse") == true {
            let command = PackagingCompose.strings(service["command"])
            guard let first = command.first else { continue }
            #expect(Self.subcommands.contains(first),
                    "service `\(name)` runs `inbox-warehouse \(command.joined(separator: " "))`, but `\(first)` is not a subcommand")
        }
    }

    @Test("postgres: image pinned to a major version, pg_isready healthcheck, data in a named volume")
    func postgresService() throws {
        let compose = try PackagingCompose.load()
        let postgres = try #require(compose.service("postgres"))

        let image = postgres["image"] as? String ?? ""
        let tag = image.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let major = Int(tag.prefix(while: \.isNumber))
        #expect(image.hasPrefix("postgres:") && major != nil && major! >= 12,
                "postgres image `\(image)` must be pinned to a major version, e.g. postgres:16-bookworm")

        let healthcheck = postgres["healthcheck"] as? [String: Any]
        let test = PackagingCompose.strings(healthcheck?["test"]).joined(separator: " ")
        #expect(test.contains("pg_isready"), "postgres needs a healthcheck running pg_isready, got `\(test)`")

        let declared = Set((compose.root["volumes"] as? [String: Any] ?? [:]).keys)
        #expect(!declared.isEmpty, "docker-compose.yml declares no named volume")
        let mounts = PackagingCompose.mounts(postgres)
        let data = mounts.first { $0.target == "/var/lib/postgresql/data" }
        #expect(data != nil, "postgres does not mount a volume at /var/lib/postgresql/data")
        if let data {
            #expect(declared.contains(data.source),
                    "postgres data is mounted from `\(data.source)`, which is not a declared named volume (\(declared.sorted()))")
        }
        let environment = PackagingCompose.environment(postgres)
        for key in ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"] {
            #expect(environment[key]?.isEmpty == false, "postgres has no \(key)")
        }
    }

    @Test("migrate and warehouse build the local Dockerfile, reach postgres through DATABASE_URL, wait for it to be healthy")
    func toolServices() throws {
        let compose = try PackagingCompose.load()
        let postgres = try #require(compose.service("postgres"))
        let database = PackagingCompose.environment(postgres)

        for name in ["migrate", "warehouse"] {
            let service = try #require(compose.service(name), "no `\(name)` service")

            // build: "." or {context: ".", dockerfile: "Dockerfile"}
            var context = ".", dockerfile = "Dockerfile"
            if let build = service["build"] as? String {
                context = build
            } else if let build = service["build"] as? [String: Any] {
                context = build["context"] as? String ?? "."
                dockerfile = build["dockerfile"] as? String ?? "Dockerfile"
            } else {
                Issue.record("service `\(name)` does not build the local Dockerfile (no `build:`)")
            }
            let contextURL = URL(fileURLWithPath: context, relativeTo: Self.root).standardizedFileURL
            #expect(contextURL.path == Self.root.standardizedFileURL.path,
                    "service `\(name)` builds from `\(context)`, not the repository")
            #expect(FileManager.default.fileExists(atPath: contextURL.appendingPathComponent(dockerfile).path),
                    "service `\(name)` builds `\(dockerfile)`, which does not exist")

            // DATABASE_URL names the postgres service and its user, password and database.
            let url = PackagingCompose.environment(service)["DATABASE_URL"] ?? ""
            let components = URLComponents(string: url)
            #expect(["postgres", "postgresql"].contains(components?.scheme ?? ""), "`\(name)`: DATABASE_URL `\(url)` is not a postgresql:// URL")
            #expect(components?.host == "postgres", "`\(name)`: DATABASE_URL must point at the `postgres` service, got `\(url)`")
            #expect(components?.port == nil || components?.port == 5432, "`\(name)`: DATABASE_URL port must be 5432 (inside the compose network)")
            #expect(components?.user == database["POSTGRES_USER"], "`\(name)`: DATABASE_URL user differs from POSTGRES_USER")
            #expect(components?.password == database["POSTGRES_PASSWORD"], "`\(name)`: DATABASE_URL password differs from POSTGRES_PASSWORD")
            #expect(components?.path == "/" + (database["POSTGRES_DB"] ?? ""), "`\(name)`: DATABASE_URL database differs from POSTGRES_DB")

            // depends_on in the long form, waiting for the healthcheck.
            let dependsOn = service["depends_on"] as? [String: Any]
            let condition = (dependsOn?["postgres"] as? [String: Any])?["condition"] as? String
            #expect(condition == "service_healthy",
                    "`\(name)` must depend on postgres with `condition: service_healthy`, got \(String(describing: service["depends_on"]))")
            // Quoted "no": unquoted, YAML 1.1 would read it as false.
            #expect(service["restart"] as? String == "no", "`\(name)` is a one-shot command: `restart: \"no\"`")
        }

        let migrate = try #require(compose.service("migrate"))
        #expect(PackagingCompose.strings(migrate["command"]) == ["db", "migrate"], "migrate must run `db migrate`")
        let warehouse = try #require(compose.service("warehouse"))
        #expect(!PackagingCompose.strings(warehouse["profiles"]).isEmpty,
                "warehouse should be in a profile so that `docker compose up` does not start it")
        let targets = Set(PackagingCompose.mounts(warehouse).map(\.target))
        #expect(targets.isSuperset(of: ["/examples", "/out"]), "warehouse should mount /examples and /out, got \(targets.sorted())")
    }

    @Test("every host path docker-compose.yml mounts exists (outputs excepted)")
    func mountedHostPathsExist() throws {
        let compose = try PackagingCompose.load()
        // Written by the container; Docker creates them when missing (and they are git-ignored).
        let outputs: Set<String> = ["./out"]
        var checked = 0
        for (name, service) in compose.services {
            for mount in PackagingCompose.mounts(service) where mount.isHostPath {
                checked += 1
                if outputs.contains(mount.source) {
                    #expect(!mount.readOnly, "`\(name)`: output mount \(mount.source) must be writable")
                    continue
                }
                #expect(!mount.source.hasPrefix("/"), "`\(name)`: \(mount.source) is an absolute host path; use one relative to the repository")
                let url = URL(fileURLWithPath: mount.source, relativeTo: Self.root).standardizedFileURL
                #expect(FileManager.default.fileExists(atPath: url.path),
                        "`\(name)` mounts \(mount.source), which does not exist in the repository")
            }
        }
        #expect(checked > 0, "no host path is mounted (expected ./examples and ./out)")
        // docs/docker.md loads this file through the /examples mount.
        #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("examples/sample.ndjson").path))
    }

    // MARK: Dockerfile

    @Test("Dockerfile: at least two stages, every base image pinned (no `latest`)")
    func stagesArePinned() throws {
        let dockerfile = try PackagingDockerfile.load(Self.root)
        #expect(dockerfile.stages.count >= 2, "the Dockerfile should be multi-stage (build, runtime), found \(dockerfile.stages.count) FROM")
        for stage in dockerfile.stages {
            let image = stage.image
            if image.contains("@sha256:") { continue }
            let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
            let tag = lastComponent.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init)
            // A FROM naming an earlier stage is not a registry image.
            if tag == nil, dockerfile.stages.contains(where: { $0.name == image }) { continue }
            #expect(tag != nil && tag != "latest", "FROM \(image): pin a tag (not `latest`)")
        }
        // The compiler must understand Package.swift's tools version.
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let tools = manifest.split(separator: "\n").first.flatMap { $0.split(separator: ":").last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let swiftStage = try #require(dockerfile.stages.first { $0.image.hasPrefix("swift:") }, "no stage builds FROM the official swift image")
        let swiftTag = String(swiftStage.image.dropFirst("swift:".count))
        #expect(PackagingDockerfile.version(swiftTag, isAtLeast: tools),
                "\(swiftStage.image) is older than swift-tools-version \(tools)")
    }

    @Test("Dockerfile: the final stage runs as a non-root user, with ENTRYPOINT inbox-warehouse")
    func finalStage() throws {
        let dockerfile = try PackagingDockerfile.load(Self.root)
        let final = try #require(dockerfile.stages.last)
        let user = final.instructions.last { $0.keyword == "USER" }?.arguments
        let name = user?.split(separator: ":").first.map(String.init) ?? ""
        #expect(user != nil, "the final stage has no USER: the container would run as root")
        #expect(!["", "root", "0"].contains(name), "the final stage runs as `\(name)`, which is root")

        let entrypoint = final.instructions.last { $0.keyword == "ENTRYPOINT" }?.arguments ?? ""
        let words = (try? JSONSerialization.jsonObject(with: Data(entrypoint.utf8))) as? [String]
        #expect(words?.first == "inbox-warehouse" || words?.first == "/usr/local/bin/inbox-warehouse",
                "ENTRYPOINT should be the exec form [\"inbox-warehouse\"], got `\(entrypoint)`")

        // The binary lands on PATH; it carries its SQL, so the build stage must have sql/ and the
        // plugin that compiles it in, and the final stage needs nothing else.
        let copies = final.instructions.filter { $0.keyword == "COPY" }.map(PackagingDockerfile.copy)
        #expect(copies.contains { $0.destination == "/usr/local/bin/inbox-warehouse" },
                "the final stage does not install /usr/local/bin/inbox-warehouse")
        #expect(!copies.contains { $0.sources.contains("sql") }, "the SQL is compiled into the binary: the final stage copies no sql/")
        let build = try #require(dockerfile.stages.first)
        let buildCopies = build.instructions.filter { $0.keyword == "COPY" }.map(PackagingDockerfile.copy)
        for folder in ["sql", "Plugins"] {
            #expect(buildCopies.contains { $0.sources.contains(folder) }, "the build stage must copy \(folder)/ (compiled into the binary)")
        }
        // The Swift runtime: copied from the build stage, or a swift *-slim base.
        #expect(copies.contains { $0.from != nil && $0.sources.contains { $0.hasPrefix("/usr/lib/swift/linux") } }
                || final.image.hasPrefix("swift:") && final.image.hasSuffix("-slim"),
                "the final stage has no Swift runtime libraries")
        let runtimePackages = final.instructions.filter { $0.keyword == "RUN" }.map(\.arguments).joined(separator: " ")
        for package in ["libpq5", "ca-certificates", "gzip", "tzdata"] {
            #expect(runtimePackages.contains(package), "the final stage does not install \(package)")
        }
    }

    @Test("Dockerfile: the build stage installs libpq-dev and builds the inbox-warehouse product")
    func buildStage() throws {
        let dockerfile = try PackagingDockerfile.load(Self.root)
        let build = try #require(dockerfile.stages.first)
        let runs = build.instructions.filter { $0.keyword == "RUN" }.map(\.arguments).joined(separator: "\n")
        #expect(runs.contains("libpq-dev") && runs.contains("pkg-config"), "the build stage must install libpq-dev and pkg-config")
        #expect(runs.contains("swift build -c release --product inbox-warehouse"), "the build stage must run `swift build -c release --product inbox-warehouse`")
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        #expect(manifest.contains(".executable(name: \"inbox-warehouse\""), "Package.swift has no inbox-warehouse product")
    }

    @Test("Dockerfile: every COPY source exists, is not excluded by .dockerignore, and every --from names an earlier stage")
    func copySourcesExist() throws {
        let dockerfile = try PackagingDockerfile.load(Self.root)
        let ignore = try PackagingDockerfile.dockerignore(Self.root)
        #expect(ignore.contains(".build*") || ignore.contains(".build"), ".dockerignore must exclude the host's .build folders")
        #expect(ignore.contains(".git"), ".dockerignore must exclude .git")
        var stageNames: [String] = []
        var checked = 0
        for (index, stage) in dockerfile.stages.enumerated() {
            for instruction in stage.instructions where instruction.keyword == "COPY" || instruction.keyword == "ADD" {
                let copy = PackagingDockerfile.copy(instruction)
                if let from = copy.from {
                    #expect(stageNames.contains(from) || Int(from).map { $0 < index } == true,
                            "COPY --from=\(from): no earlier stage of that name")
                    continue
                }
                // Wildcard sources are optional (e.g. Package.resolved*, git-ignored);
                // each instruction needs at least one literal source that exists.
                let literal = copy.sources.filter { !$0.contains(where: { "*?[".contains($0) }) }
                #expect(!literal.isEmpty, "`\(instruction.keyword) \(instruction.arguments)` copies only wildcards")
                for source in literal {
                    checked += 1
                    let path = URL(fileURLWithPath: source, relativeTo: Self.root).standardizedFileURL.path
                    #expect(FileManager.default.fileExists(atPath: path), "\(instruction.keyword) \(source): not in the repository")
                    let relative = source.hasPrefix("./") ? String(source.dropFirst(2)) : source
                    let excludedBy = ignore.first { fnmatch($0.hasSuffix("/") ? String($0.dropLast()) : $0, relative, 0) == 0 }
                    #expect(excludedBy == nil, "\(source) is copied but .dockerignore excludes it (`\(excludedBy ?? "")`)")
                }
            }
            if let name = stage.name { stageNames.append(name) }
        }
        #expect(checked >= 5, "expected COPY of Package.swift, Sources, Tests, Plugins and sql")
        // The sql folder the build compiles into the binary.
        #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("sql/migrations").path))
    }
}

// MARK: - Helpers

private struct PackagingFailure: Error, CustomStringConvertible {
    let description: String
}

/// docker-compose.yml, converted to JSON by python3 + PyYAML.
private struct PackagingCompose {
    let root: [String: Any]

    var services: [(String, [String: Any])] {
        ((root["services"] as? [String: Any]) ?? [:]).compactMap { key, value in
            (value as? [String: Any]).map { (key, $0) }
        }.sorted { $0.0 < $1.0 }
    }

    func service(_ name: String) -> [String: Any]? {
        (root["services"] as? [String: Any])?[name] as? [String: Any]
    }

    static func load() throws -> PackagingCompose {
        let file = PackagingTests.root.appendingPathComponent("docker-compose.yml")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw PackagingFailure(description: "docker-compose.yml not found at \(file.path)")
        }
        let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, file.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw PackagingFailure(description: "cannot run python3 to read docker-compose.yml (\(error)); install python3 and python3-yaml")
        }
        let json = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            if message.contains("No module named 'yaml'") || message.contains("No module named yaml") {
                throw PackagingFailure(description: """
                    PyYAML is not installed, so docker-compose.yml cannot be checked. \
                    Install it: `apt-get install python3-yaml` (Debian/Ubuntu) or `python3 -m pip install pyyaml`. \
                    (.ci/run installs python3-yaml when `python3 -c 'import yaml'` fails.)
                    """)
            }
            if process.terminationStatus == 127 {
                throw PackagingFailure(description: "python3 is not installed; it is needed (with PyYAML) to read docker-compose.yml")
            }
            throw PackagingFailure(description: "docker-compose.yml is not valid YAML: \(message)")
        }
        guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw PackagingFailure(description: "docker-compose.yml is not a YAML mapping")
        }
        return PackagingCompose(root: root)
    }

    /// A compose value that may be a string or a list of strings (command, profiles, healthcheck).
    static func strings(_ value: Any?) -> [String] {
        if let list = value as? [Any] { return list.map { "\($0)" } }
        if let string = value as? String { return [string] }
        return []
    }

    /// `environment:` as a mapping or as a list of KEY=VALUE.
    static func environment(_ service: [String: Any]) -> [String: String] {
        if let mapping = service["environment"] as? [String: Any] {
            return mapping.mapValues { "\($0)" }
        }
        var result: [String: String] = [:]
        for entry in strings(service["environment"]) {
            let parts = entry.split(separator: "=", maxSplits: 1)
            result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }

    struct Mount {
        let source: String
        let target: String
        let readOnly: Bool
        /// A bind mount of a host path (as opposed to a named volume).
        var isHostPath: Bool { source.hasPrefix(".") || source.hasPrefix("/") || source.hasPrefix("~") }
    }

    /// `volumes:` of a service, short (`src:dst[:ro]`) or long syntax.
    static func mounts(_ service: [String: Any]) -> [Mount] {
        ((service["volumes"] as? [Any]) ?? []).compactMap { entry in
            if let short = entry as? String {
                let parts = short.split(separator: ":").map(String.init)
                guard parts.count >= 2 else { return nil }
                return Mount(source: parts[0], target: parts[1], readOnly: parts.count > 2 && parts[2].split(separator: ",").contains("ro"))
            }
            if let long = entry as? [String: Any], let source = long["source"] as? String, let target = long["target"] as? String {
                return Mount(source: source, target: target, readOnly: long["read_only"] as? Bool ?? false)
            }
            return nil
        }
    }
}

/// A Dockerfile, split into stages and instructions (continuation lines joined, comments dropped).
private struct PackagingDockerfile {
    struct Instruction {
        let keyword: String
        let arguments: String
    }

    struct Stage {
        let image: String
        let name: String?
        var instructions: [Instruction]
    }

    var stages: [Stage] = []

    static func load(_ root: URL) throws -> PackagingDockerfile {
        let text = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        var dockerfile = PackagingDockerfile()
        var logical = ""
        func finish() {
            let line = logical.trimmingCharacters(in: .whitespaces)
            logical = ""
            guard !line.isEmpty else { return }
            let keyword = String(line.prefix { !$0.isWhitespace }).uppercased()
            let arguments = line.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
            if keyword == "FROM" {
                let words = arguments.split(separator: " ").map(String.init).filter { !$0.hasPrefix("--") }
                let name = words.count >= 3 && words[1].uppercased() == "AS" ? words[2] : nil
                dockerfile.stages.append(Stage(image: words.first ?? "", name: name, instructions: []))
            } else if !dockerfile.stages.isEmpty {
                dockerfile.stages[dockerfile.stages.count - 1].instructions.append(Instruction(keyword: keyword, arguments: arguments))
            }
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = rawLine.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") { continue }  // comments, also inside continued instructions
            if trimmed.hasSuffix("\\") {
                logical += trimmed.dropLast() + " "
            } else {
                logical += trimmed
                finish()
            }
        }
        finish()
        return dockerfile
    }

    struct Copy {
        let from: String?
        let sources: [String]
        let destination: String
    }

    /// `COPY [--from=stage] [--chown=...] src... dest` (shell or JSON form).
    static func copy(_ instruction: Instruction) -> Copy {
        var words = instruction.arguments.split(separator: " ").map(String.init)
        var from: String?
        while let first = words.first, first.hasPrefix("--") {
            if first.hasPrefix("--from=") { from = String(first.dropFirst("--from=".count)) }
            words.removeFirst()
        }
        let rest = words.joined(separator: " ")
        if rest.hasPrefix("["), let list = (try? JSONSerialization.jsonObject(with: Data(rest.utf8))) as? [String] {
            words = list
        }
        return Copy(from: from, sources: Array(words.dropLast()), destination: words.last ?? "")
    }

    /// The patterns of `.dockerignore` (comments and blank lines dropped).
    static func dockerignore(_ root: URL) throws -> [String] {
        let url = root.appendingPathComponent(".dockerignore")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PackagingFailure(description: ".dockerignore is missing: the host's .build folders would be sent to the Docker build")
        }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Whether an image tag such as `6.0.3-bookworm` is at least version `6.0`.
    static func version(_ tag: String, isAtLeast required: String) -> Bool {
        func numbers(_ string: String) -> [Int] {
            string.prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int($0) }
        }
        let have = numbers(tag), need = numbers(required)
        guard !have.isEmpty, !need.isEmpty else { return false }
        for index in 0..<max(have.count, need.count) {
            let a = index < have.count ? have[index] : 0, b = index < need.count ? need[index] : 0
            if a != b { return a > b }
        }
        return true
    }
}

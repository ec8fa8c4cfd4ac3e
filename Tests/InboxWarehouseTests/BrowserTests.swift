import Foundation
import Testing

/// The Exports page as a person uses it: Tests/e2e/exports_page_test.py drives a real headless
/// Chromium (Selenium, Debian's chromium and chromium-driver) against `inbox-warehouse serve` on a
/// loopback port, on a fresh database of this run's cluster. It logs in, generates an export,
/// waits for the notification the server pushes, downloads the file and compares its bytes with
/// the command line's export; creates, runs, pauses, resumes and deletes a schedule; and checks
/// the refusals (viewer, CSRF, 404s, wrong password and its rate limit) and the French page.
///
/// Never skipped: without a browser it fails and says what to install (.ci/run installs it).
/// The screenshots go to a temporary folder, or to $INBOX_WAREHOUSE_E2E_SCREENSHOTS
/// (`INBOX_WAREHOUSE_E2E_SCREENSHOTS=$PWD/docs/web swift test --filter BrowserTests` refreshes
/// the ones in docs/web.md).
@Suite("Browser: the Exports page in headless Chromium")
struct BrowserTests {
    @Test("log in, generate, notification, download = CLI, schedule, viewer, CSRF, 404, rate limit, French")
    func exportsPage() throws {
        let environment = ProcessInfo.processInfo.environment
        let missing = [("chromium", "INBOX_WAREHOUSE_E2E_CHROMIUM", "chromium"),
                       ("chromedriver", "INBOX_WAREHOUSE_E2E_CHROMEDRIVER", "chromium-driver")]
            .filter { program, variable, _ in
                if let given = environment[variable], !given.isEmpty { return !FileManager.default.isExecutableFile(atPath: given) }
                return findOnPath(program, environment["PATH"] ?? "") == nil
            }
        try #require(missing.isEmpty, """
            the browser tests need \(missing.map(\.0).joined(separator: " and ")): on Debian, \
            apt-get install \(missing.map(\.2).joined(separator: " ")) (.ci/run installs them)
            """)
        let executable = TestSupport.executable
        try #require(FileManager.default.isExecutableFile(atPath: executable.path),
                     "no \(executable.path): run `swift build` first")

        let (connection, databaseURL) = try TestSupport.freshDatabase()
        connection.close()
        let directory = try TestSupport.temporaryDirectory()
        let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/e2e/exports_page_test.py")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        var childEnvironment = environment
        childEnvironment.removeValue(forKey: "DATABASE_URL")
        childEnvironment["INBOX_WAREHOUSE_E2E_BINARY"] = executable.path
        childEnvironment["INBOX_WAREHOUSE_E2E_DATABASE_URL"] = databaseURL
        childEnvironment["INBOX_WAREHOUSE_SQL_DIR"] = TestSupport.cliSQLDirectory
        if (environment["INBOX_WAREHOUSE_E2E_SCREENSHOTS"] ?? "").isEmpty {
            childEnvironment["INBOX_WAREHOUSE_E2E_SCREENSHOTS"] = directory.appendingPathComponent("screenshots").path
        }
        childEnvironment["PYTHONUNBUFFERED"] = "1"
        process.environment = childEnvironment
        let outputPath = directory.appendingPathComponent("output").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = FileHandle(forWritingAtPath: outputPath)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output?.close()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 0, "the browser tests failed (exit \(process.terminationStatus)):\n\(text)")
        // A script that ran nothing must not pass.
        #expect(text.contains("ok   generate an export") && !text.contains("FAIL"), "the browser tests did not run the export flow:\n\(text)")
    }

    private func findOnPath(_ program: String, _ path: String) -> String? {
        path.split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

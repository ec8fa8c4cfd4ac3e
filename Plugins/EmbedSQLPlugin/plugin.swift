import Foundation
import PackagePlugin

/// Embeds the package's sql/ folder (migrations, export views, their header files) into the
/// target as a generated Swift file, so that the built binary is a complete install.
///
/// The target this plugin runs on has sql/ as its folder (`InboxWarehouseSQL` in
/// Package.swift), so SwiftPM watches it as it watches any target's sources: adding or removing
/// a file makes it plan the build again and run this plugin, and every file is an input of the
/// command, so editing one regenerates the Swift file.
@main
struct EmbedSQLPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        // The target's folder (Target.directoryURL needs tools 6.1; Package.swift says 6.0).
        let sql = context.package.directoryURL.appending(path: "sql")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: sql, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker
            where (url.pathExtension == "sql" || url.pathExtension == "tsv") && !url.lastPathComponent.hasPrefix(".") {
                inputs.append(url)
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSQLFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the sql folder into \(target.name)",
                executable: try context.tool(named: "EmbedSQL").url,
                arguments: [sql.path, output.path],
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}

import Foundation

/// One on-demand export run, as the command line, the demo (and later the web page) ask the
/// `JobRunner` for it: which exports, with which parameters and limits, written where.
public struct ExportRequest: Sendable {
    public enum Output: Sendable, Equatable {
        /// One export into a file, `-`, a device or a FIFO (`OutputTarget`).
        case file(String)
        /// Each export as `<slug>.csv` in a directory, all from one snapshot.
        case directory(String)
    }

    public var types: [ExportType]
    public var parameters: ExportParameters
    public var output: Output
    public var limits: ExportLimits

    public init(types: [ExportType], parameters: ExportParameters, output: Output, limits: ExportLimits = .standard) {
        self.types = types
        self.parameters = parameters
        self.output = output
        self.limits = limits
    }

    /// One export into `path`.
    public static func single(_ type: ExportType, _ parameters: ExportParameters, to path: String,
                              limits: ExportLimits = .standard) -> ExportRequest {
        ExportRequest(types: [type], parameters: parameters, output: .file(path), limits: limits)
    }

    /// Several exports (all twelve by default) into `directory`.
    public static func all(_ parameters: ExportParameters, into directory: String, types: [ExportType] = ExportType.all,
                           limits: ExportLimits = .standard) -> ExportRequest {
        ExportRequest(types: types, parameters: parameters, output: .directory(directory), limits: limits)
    }

    /// The absolute path of `type`'s file.
    func path(of type: ExportType) -> String {
        switch output {
        case .file(let path):
            return URL(fileURLWithPath: path).standardizedFileURL.path
        case .directory(let directory):
            return URL(fileURLWithPath: directory).appendingPathComponent("\(type.slug).csv").standardizedFileURL.path
        }
    }
}

/// What an on-demand run wrote: the manifests of its files (none for an output written in
/// place) and the jobs that record them (none when the role may not record jobs).
public struct OnDemandRun: Sendable {
    public let manifests: [ExportManifest]
    public let jobIDs: [Int64]
    public var isRecorded: Bool { !jobIDs.isEmpty }
}

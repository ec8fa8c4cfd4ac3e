/// Client-side failures of the warehouse (server errors are `PostgresError`).
public enum WarehouseError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Something in the environment or the settings is missing or wrong.
    case configuration(String)
    /// Reading or writing a file failed.
    case io(String)
    /// Starting or stopping the embedded cluster failed.
    case embeddedCluster(String)
    /// The database was migrated by a newer version, or a migration file changed after it ran.
    case schema(String)
    /// A request parameter is invalid (export type, time zone, date, channel, ...).
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .configuration(let message), .io(let message), .embeddedCluster(let message),
             .schema(let message), .invalidParameter(let message):
            return message
        }
    }
}

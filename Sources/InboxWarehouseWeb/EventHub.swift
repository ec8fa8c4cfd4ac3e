import Foundation
import InboxWarehouse
import PostgresLibPQ

/// One Server-Sent Event: `event: <name>` and one line of JSON data.
struct ServerEvent: Sendable, Equatable {
    let name: String
    let data: String

    var wireFormat: String { "event: \(name)\ndata: \(data)\n\n" }
}

/// Fans events out to every open `/events` stream. Fed by the one `EventListener` of the
/// server; each browser only holds an `AsyncStream`, never a database connection.
final class EventHub: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<ServerEvent>.Continuation] = [:]
    private var isClosed = false

    /// A new stream of the events published from now on.
    func subscribe() -> (UUID, AsyncStream<ServerEvent>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<ServerEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        lock.lock()
        if isClosed {
            continuation.finish()
        } else {
            subscribers[id] = continuation
        }
        lock.unlock()
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        lock.lock()
        let continuation = subscribers.removeValue(forKey: id)
        lock.unlock()
        continuation?.finish()
    }

    func publish(_ event: ServerEvent) {
        lock.lock()
        let targets = Array(subscribers.values)
        lock.unlock()
        for target in targets { target.yield(event) }
    }

    var subscriberCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return subscribers.count
    }

    /// Ends every stream (the server is stopping); later subscriptions end at once.
    func close() {
        lock.lock()
        isClosed = true
        let targets = Array(subscribers.values)
        subscribers = [:]
        lock.unlock()
        for target in targets { target.finish() }
    }
}

/// The NOTIFY channel on which running jobs report their rows (`{"job_id":N,"rows":N}`).
let exportProgressChannel = "inbox_warehouse_export_progress"

/// Turns the payloads of the two NOTIFY channels into the page's events.
enum EventTranslation {
    /// `event: job` from a finished job's payload (docs/scheduling.md, "Notifications"), or
    /// `event: progress` from a progress payload.
    static func event(channel: String, payload: String) -> ServerEvent? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              let jobID = (object["job_id"] as? NSNumber)?.int64Value else { return nil }
        if channel == exportProgressChannel {
            let rows = (object["rows"] as? NSNumber)?.int64Value ?? 0
            return ServerEvent(name: "progress", data: json(["job_id": jobID, "rows": rows]))
        }
        let file = object["file"] as? String
        var data: [String: Any] = [
            "job_id": jobID,
            "state": object["state"] as? String ?? "",
            "rows": (object["rows"] as? NSNumber)?.int64Value ?? 0,
            "bytes": (object["bytes"] as? NSNumber)?.int64Value ?? 0,
            "export_type": object["type"] as? String ?? "",
            "file_name": file.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "",
        ]
        if let scheduleID = (object["schedule_id"] as? NSNumber)?.int64Value { data["schedule_id"] = scheduleID }
        return ServerEvent(name: "job", data: json(data))
    }

    static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The server's one LISTEN connection: waits for notifications on the jobs channel and the
/// progress channel and publishes them to the hub; reconnects after a lost connection. Runs
/// on a thread of its own until stopped.
final class EventListener: @unchecked Sendable {
    private let connect: @Sendable () throws -> Connection
    private let hub: EventHub
    private let stop: StopSignal
    private let log: @Sendable (String) -> Void
    private let onFinished: @Sendable (String) -> Void
    private let ready = StopSignal()

    init(connect: @escaping @Sendable () throws -> Connection, hub: EventHub, stop: StopSignal,
         log: @escaping @Sendable (String) -> Void, onFinished: @escaping @Sendable (String) -> Void) {
        self.connect = connect
        self.hub = hub
        self.stop = stop
        self.log = log
        self.onFinished = onFinished
    }

    func start(done: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            run()
            done()
        }
        thread.name = "inbox-warehouse-listen"
        thread.start()
    }

    /// Waits until the first LISTEN is in place (or `seconds` passed).
    func waitUntilListening(seconds: Double) { _ = ready.wait(seconds: seconds) }

    private func run() {
        var connection: Connection?
        while !stop.isStopped {
            do {
                if connection == nil {
                    let opened = try connect()
                    try opened.listen(exportJobsChannel)
                    try opened.listen(exportProgressChannel)
                    connection = opened
                    ready.stop()
                }
                for notification in try connection!.waitForNotifications(timeout: 0.5) {
                    if notification.channel == exportJobsChannel { onFinished(notification.payload) }
                    if let event = EventTranslation.event(channel: notification.channel, payload: notification.payload) {
                        hub.publish(event)
                    }
                }
            } catch {
                log("serve: listening for job events: \(error)")
                connection?.close()
                connection = nil
                if stop.wait(seconds: 2) { break }
            }
        }
        connection?.close()
    }
}

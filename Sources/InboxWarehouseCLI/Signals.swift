import Dispatch
import Foundation
import InboxWarehouse
import PostgresLibPQ

/// Runs `body` with SIGINT (Ctrl-C) and SIGTERM handled by `handler` on a queue of their own
/// instead of ending the process; the default handling is restored afterwards. The one place
/// where the command line installs signal handlers.
func handlingInterrupts<T>(_ handler: @escaping @Sendable (Int32) -> Void, _ body: () throws -> T) rethrows -> T {
    let queue = DispatchQueue(label: "inbox-warehouse.signals")
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
        source.setEventHandler { handler(signalNumber) }
        source.resume()
        sources.append(source)
    }
    defer {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
    return try body()
}

/// Runs `body` with Ctrl-C (SIGINT) and SIGTERM turned into a cancel request for the statement
/// running on `connection`: the server stops it, the command fails with "cancelled" and cleans up
/// (an export removes its partial file) instead of dying mid-write.
func cancellingOnInterrupt<T>(_ connection: Connection, _ body: () throws -> T) throws -> T {
    guard let cancel = connection.cancelHandle() else { return try body() }
    do {
        return try handlingInterrupts({ _ in
            FileHandle.standardError.write(Data("\ninbox-warehouse: interrupted, cancelling...\n".utf8))
            cancel.cancel()
        }, body)
    } catch let error as PostgresError where error.sqlState == .queryCanceled {
        throw WarehouseError.io("cancelled: nothing was written")
    }
}

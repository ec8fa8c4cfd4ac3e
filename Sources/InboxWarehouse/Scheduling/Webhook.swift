import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP endpoint told about every finished job: a JSON body (the NOTIFY payload) signed with
/// HMAC-SHA256 of the raw body under a shared secret, in `X-Inbox-Warehouse-Signature:
/// sha256=<hex>`.
public struct WebhookSettings: Sendable {
    public var url: URL
    public var secret: String
    /// Tries in all (the first and the retries).
    public var attempts = 4
    /// The wait before the first retry; doubled before each next one.
    public var initialDelaySeconds = 1.0
    public var timeoutSeconds = 10.0

    public init(url: URL, secret: String) {
        self.url = url
        self.secret = secret
    }

    /// From `INBOX_WAREHOUSE_WEBHOOK_URL` and `INBOX_WAREHOUSE_WEBHOOK_SECRET`; nil without a URL.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> WebhookSettings? {
        guard let text = environment["INBOX_WAREHOUSE_WEBHOOK_URL"], !text.isEmpty else { return nil }
        return try make(url: text, secret: environment["INBOX_WAREHOUSE_WEBHOOK_SECRET"])
    }

    /// Checks the URL (http or https) and requires a secret.
    public static func make(url text: String, secret: String?) throws -> WebhookSettings {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            throw WarehouseError.configuration("the webhook URL is not an http(s) URL")
        }
        guard let secret, !secret.isEmpty else {
            throw WarehouseError.configuration("a webhook needs a signing secret (INBOX_WAREHOUSE_WEBHOOK_SECRET)")
        }
        return WebhookSettings(url: url, secret: secret)
    }
}

public enum WebhookSignature {
    public static let header = "X-Inbox-Warehouse-Signature"

    /// `sha256=` and the lowercase hex HMAC-SHA256 of `body` under `secret`.
    public static func sign(_ body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` is the right one for `body`, compared in constant time.
    public static func verify(_ body: Data, signature: String, secret: String) -> Bool {
        guard signature.hasPrefix("sha256="), let given = Data(hexadecimal: String(signature.dropFirst(7))) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }
}

/// Posts payloads, retrying with exponential backoff.
public struct WebhookSender: Sendable {
    public let settings: WebhookSettings

    public init(settings: WebhookSettings) { self.settings = settings }

    public struct Outcome: Sendable {
        public var delivered: Bool
        public var attempts: Int
        /// One line per failed try: the HTTP status or the transport error.
        public var failures: [String]
    }

    /// Sends `body`; `onFailure` hears each failed try (attempt number, reason) as it happens.
    public func send(_ body: Data, deliveryID: String, onFailure: (Int, String) -> Void = { _, _ in }) -> Outcome {
        var outcome = Outcome(delivered: false, attempts: 0, failures: [])
        var delay = settings.initialDelaySeconds
        for attempt in 1...max(1, settings.attempts) {
            if attempt > 1 {
                Thread.sleep(forTimeInterval: delay)
                delay *= 2
            }
            outcome.attempts = attempt
            switch post(body, deliveryID: deliveryID, attempt: attempt) {
            case .success(let status) where (200..<300).contains(status):
                outcome.delivered = true
                return outcome
            case .success(let status):
                let reason = "HTTP \(status)"
                outcome.failures.append(reason)
                onFailure(attempt, reason)
            case .failure(let error):
                let reason = error.localizedDescription
                outcome.failures.append(reason)
                onFailure(attempt, reason)
            }
        }
        return outcome
    }

    private final class ResponseBox: @unchecked Sendable {
        var result: Result<Int, Error> = .failure(WarehouseError.io("no response"))
        let done = DispatchSemaphore(value: 0)
    }

    private func post(_ body: Data, deliveryID: String, attempt: Int) -> Result<Int, Error> {
        var request = URLRequest(url: settings.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: settings.timeoutSeconds)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("inbox-warehouse", forHTTPHeaderField: "User-Agent")
        request.setValue(WebhookSignature.sign(body, secret: settings.secret), forHTTPHeaderField: WebhookSignature.header)
        request.setValue("export_job.finished", forHTTPHeaderField: "X-Inbox-Warehouse-Event")
        request.setValue(deliveryID, forHTTPHeaderField: "X-Inbox-Warehouse-Delivery")
        request.setValue(String(attempt), forHTTPHeaderField: "X-Inbox-Warehouse-Attempt")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = settings.timeoutSeconds
        configuration.timeoutIntervalForResource = settings.timeoutSeconds * 2
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let box = ResponseBox()
        let task = session.dataTask(with: request) { _, response, error in
            if let error {
                box.result = .failure(error)
            } else if let http = response as? HTTPURLResponse {
                box.result = .success(http.statusCode)
            }
            box.done.signal()
        }
        task.resume()
        box.done.wait()
        return box.result
    }
}

extension Data {
    /// Bytes from an even-length hex string; nil when it is not one.
    init?(hexadecimal text: String) {
        guard text.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}

import Dispatch
import RBCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Read-only HTTP(S) probe of a device's web server: `GET /` (with an `Origin` header, for
/// CORS), `TRACE /`, the CVE-2017-7921 pattern (`?auth=` on paths that answer 401/403 without
/// it) and the device profile's sensitive paths without credentials. Each request is one connection (`Connection: close`), bodies are read up to
/// 256 KiB, every read has a deadline. Nothing that changes state is sent.
public struct HTTPProbe: Sendable {
    public let host: String
    public let port: UInt16
    public let tls: Bool
    public let timeout: Double
    /// Paths requested without credentials, with the marker that proves data was served.
    public let sensitivePaths: [DeviceProfile.SensitivePath]
    /// Default credentials to try on a 401 (`--allow-auth-tests`); empty: none are sent.
    public let credentials: [DeviceProfile.Credential]
    /// ONVIF device service paths asked GetUsers / GetDeviceInformation without credentials.
    public let onvifPaths: [String]
    /// Paces default-credential attempts across the host's surfaces.
    public let pacer: LoginPacer

    public init(host: String, port: UInt16, tls: Bool, timeout: Double = 4, sensitivePaths: [DeviceProfile.SensitivePath] = [],
                credentials: [DeviceProfile.Credential] = [], onvifPaths: [String] = [], pacer: LoginPacer = LoginPacer()) {
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        self.sensitivePaths = sensitivePaths
        self.credentials = credentials
        self.onvifPaths = onvifPaths
        self.pacer = pacer
    }

    /// The CVE-2017-7921 paths and the markers of a successful answer (ICSA-17-124-01; the
    /// public nuclei template uses /system/deviceInfo and `<firmwareVersion>`).
    static let bypassPaths: [(path: String, marker: String)] = [
        ("/system/deviceInfo", "<firmwareVersion>"), ("/Security/users", "<UserList"),
    ]
    static let bypassQuery = "auth=YWRtaW46MTEK"          // base64 of "admin:11\n"

    public func scan() async -> Result<HTTPFacts, ProbeUnreachable> {
        await blocking { self.run() }
    }

    func run() -> Result<HTTPFacts, ProbeUnreachable> {
        let root: HTTPResponse
        do {
            root = try request("GET", "/", extra: ["Origin: https://rbscan.invalid"])
        } catch {
            return .failure(ProbeUnreachable(message: error.message))
        }
        var facts = HTTPFacts(root: root.summary)
        facts.requests = 1
        // TRACE and the bypass pairs in parallel: a server that never answers TRACE costs one
        // timeout, not one per request.
        let marker = "rbscan-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let bypassCount = Self.bypassPaths.count
        // Slots: TRACE, the bypass pairs, the sensitive paths, a 404 page, ONVIF.
        let count = 1 + bypassCount + sensitivePaths.count + 2
        let results = Results(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            if i == count - 2 {
                // An error page, for what it gives away (server versions, firmware builds).
                let missing = try? request("GET", "/rbscan-" + String(UInt32.random(in: 0...UInt32.max), radix: 16))
                results.set(i, .init(notFound: missing?.summary, requests: 1))
            } else if i == count - 1 {
                var slot = Results.Slot()
                for path in onvifPaths {
                    let (onvif, requests) = ONVIFClient(http: self, path: path, credentials: credentials).run()
                    slot.requests += requests
                    if let onvif {
                        slot.onvif = onvif
                        break
                    }
                }
                results.set(i, slot)
            } else if i == 0 {
                // Servers that ignore TRACE stay silent: give it a shorter deadline.
                let trace = try? request("TRACE", "/", extra: ["X-Rbscan-Trace: \(marker)"], wait: min(timeout, 1.5))
                results.set(0, .init(trace: trace.map { HTTPFacts.Trace(status: $0.status, echoed: String(decoding: $0.body, as: UTF8.self).contains(marker)) },
                                     requests: 1))
            } else if i <= bypassCount {
                let (path, successMarker) = Self.bypassPaths[i - 1]
                guard let plain = try? request("GET", path) else { return results.set(i, .init(requests: 1)) }
                guard plain.status == 401 || plain.status == 403 else { return results.set(i, .init(requests: 1)) }
                guard let bypassed = try? request("GET", path + "?" + Self.bypassQuery) else { return results.set(i, .init(requests: 2)) }
                let hit = bypassed.status == 200 && String(decoding: bypassed.body, as: UTF8.self).contains(successMarker)
                results.set(i, .init(bypass: HTTPFacts.Bypass(path: path, statusWithout: plain.status, statusWith: bypassed.status, marker: hit),
                                     requests: 2))
            } else {
                let item = sensitivePaths[i - 1 - bypassCount]
                guard let answer = try? request("GET", item.path) else { return results.set(i, .init(requests: 1)) }
                let served = answer.status == 200 && (item.marker == "jpeg" ? answer.body.starts(with: [0xff, 0xd8, 0xff])
                                                      : String(decoding: answer.body, as: UTF8.self).contains(item.marker))
                results.set(i, .init(sensitive: HTTPFacts.Sensitive(path: item.path, status: answer.status, marker: served), requests: 1))
            }
        }
        if root.status == 401, !credentials.isEmpty {
            let login = DefaultLogin(credentials: credentials, host: host, pacer: pacer).run(
                challenges: root.headers.filter { $0.0.lowercased() == "www-authenticate" }.map(\.1), method: "GET", uri: "/") { authorization in
                (try? request("GET", "/", extra: ["Authorization: \(authorization)"])).map { ($0.status, String(decoding: $0.body.prefix(4096), as: UTF8.self)) }
            }
            facts.defaultLogin = login
            facts.requests += login.attempts
        }
        for slot in results.all {
            if let trace = slot.trace { facts.trace = trace }
            if let notFound = slot.notFound { facts.notFound = notFound }
            if let onvif = slot.onvif { facts.onvif = onvif }
            if let bypass = slot.bypass { facts.authBypass.append(bypass) }
            if let sensitive = slot.sensitive { facts.sensitive.append(sensitive) }
            facts.requests += slot.requests
        }
        return .success(facts)
    }

    /// Per-request results filled from concurrent workers.
    final class Results: Sendable {
        struct Slot: Sendable {
            var trace: HTTPFacts.Trace?
            var bypass: HTTPFacts.Bypass?
            var sensitive: HTTPFacts.Sensitive?
            var notFound: HTTPFacts.Response?
            var onvif: ONVIFFacts?
            var requests = 0
        }
        private let slots: Mutex<[Slot]>
        init(count: Int) { slots = Mutex(Array(repeating: Slot(), count: count)) }
        func set(_ i: Int, _ value: Slot) { slots.withLock { $0[i] = value } }
        var all: [Slot] { slots.withLock { $0 } }
    }

    struct HTTPResponse {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        var summary: HTTPFacts.Response {
            let text = String(decoding: body.prefix(65_536), as: UTF8.self)
            let lower = text.lowercased()
            var title: String?
            if let open = lower.range(of: "<title>"), let close = lower.range(of: "</title>", range: open.upperBound..<lower.endIndex) {
                title = String(String(text[open.upperBound..<close.lowerBound]).trimmingWhitespace().prefix(120))
            }
            let listing = (title?.lowercased().hasPrefix("index of") ?? false) || lower.contains("directory listing for")
            var response = HTTPFacts.Response(status: status, headers: headers.map { [$0.0, $0.1] },
                                              title: title, passwordForm: lower.contains("type=\"password\"") || lower.contains("type='password'")
                                                || lower.contains("type=password"),
                                              directoryListing: listing)
            response.text = text
            return response
        }
    }

    /// One request on its own connection.
    /// `enough` ends the read early on what the caller needs (a SOAP envelope's end) when the
    /// server neither frames the body nor closes.
    func request(_ method: String, _ path: String, extra: [String] = [], body: [UInt8]? = nil, wait: Double? = nil,
                 enough: (@Sendable ([UInt8]) -> Bool)? = nil) throws(TCPConnection.Failure) -> HTTPResponse {
        let hostHeader = host.contains(":") ? "[\(host)]" : host
        let defaultPort: UInt16 = tls ? 443 : 80
        let lines = ["\(method) \(path) HTTP/1.1", "Host: \(hostHeader)" + (port == defaultPort ? "" : ":\(port)"),
                     "User-Agent: rbscan/0.1", "Accept: */*", "Connection: close"] + extra
            + (body.map { ["Content-Length: \($0.count)"] } ?? [])
        let bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + (body ?? [])
        let connection = try TCPConnection(host: host, port: port, timeout: timeout)
        let deadline = ContinuousClock.now + .milliseconds(Int((wait ?? timeout) * 1000))
        var received: [UInt8] = []
        if tls {
            let stream = try TLSStream(connection: connection, host: host, timeout: wait ?? timeout)
            try stream.write(bytes)
            while received.count < 1 << 18, !Self.complete(received, method: method), !(enough?(received) ?? false),
                  let chunk = stream.read(), !chunk.isEmpty {
                received += chunk
            }
        } else {
            try connection.send(bytes, timeout: timeout)
            received = try connection.receive(until: { Self.complete($0, method: method) || (enough?($0) ?? false) }, limit: 1 << 18, deadline: deadline)
        }
        return try Self.parse(received)
    }

    /// Whether `bytes` hold a whole response by its own framing (Content-Length, chunked end,
    /// or no body), so a server that keeps the connection open despite `Connection: close`
    /// costs no timeout.
    static func complete(_ bytes: [UInt8], method: String) -> Bool {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return false }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        if method == "HEAD" || status / 100 == 1 || status == 204 || status == 304 { return true }
        for line in head.split(separator: "\r\n") {
            if line.hasPrefix("content-length:"), let length = Int(line.dropFirst(15).trimmingWhitespace()) {
                return bytes.count - end.upperBound >= length
            }
            if line.hasPrefix("transfer-encoding:"), line.contains("chunked") {
                return bytes.suffix(5) == [48, 13, 10, 13, 10]
            }
        }
        return false
    }

    static func parse(_ bytes: [UInt8], protocolPrefix: String = "HTTP/") throws(TCPConnection.Failure) -> HTTPResponse {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else {
            throw TCPConnection.Failure(message: bytes.isEmpty ? "no \(protocolPrefix.dropLast()) answer" : "not \(protocolPrefix.dropLast()): no header end")
        }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix(protocolPrefix), let status = Int(statusParts[1]) else {
            throw TCPConnection.Failure(message: "not \(protocolPrefix.dropLast()): \(head.first?.prefix(40) ?? "")")
        }
        let headers: [(String, String)] = head.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(String(line[line.index(after: colon)...]).trimmingWhitespace()))
        }
        return HTTPResponse(status: status, headers: headers, body: Array(bytes[end.upperBound...]))
    }
}

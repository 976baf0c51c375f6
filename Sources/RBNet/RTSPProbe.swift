import Dispatch
import RBCore
import Synchronization

/// RTSP without credentials: `OPTIONS *`, then `DESCRIBE` of each stream path (profile paths, or
/// common camera paths) with `Accept: application/sdp`. Read-only, one connection per request,
/// paths in parallel, every read with a deadline.
public struct RTSPProbe: Sendable {
    public let host: String
    public let port: UInt16
    public let timeout: Double
    public let paths: [String]
    /// Default credentials to try on a 401 (`--allow-auth-tests`); empty: none are sent.
    public let credentials: [DeviceProfile.Credential]
    /// Paces default-credential attempts across the host's surfaces.
    public let pacer: LoginPacer

    public init(host: String, port: UInt16, timeout: Double = 4, paths: [String] = RTSPFacts.commonPaths,
                credentials: [DeviceProfile.Credential] = [], pacer: LoginPacer = LoginPacer()) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.paths = paths
        self.credentials = credentials
        self.pacer = pacer
    }

    public func scan() async -> Result<RTSPFacts, ProbeUnreachable> {
        await blocking { self.run() }
    }

    var base: String { "rtsp://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    func run() -> Result<RTSPFacts, ProbeUnreachable> {
        let options: RTSPAnswer
        do { options = try request("OPTIONS", "*") } catch { return .failure(ProbeUnreachable(message: error.message)) }
        let methods = options.header("Public").flatMap { $0.split(separator: ",").map { String(String($0).trimmingWhitespace()) } }
        let found = Mutex([RTSPFacts.Path?](repeating: nil, count: paths.count))
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            guard let answer = try? request("DESCRIBE", base + paths[i], extra: ["Accept: application/sdp"]) else { return }
            let body = String(decoding: answer.body, as: UTF8.self)
            let media = answer.status == 200 && (body.contains("m=video") || body.contains("m=audio"))
            let path = RTSPFacts.Path(path: paths[i], status: answer.status, challenges: answer.header("WWW-Authenticate"), media: media)
            found.withLock { $0[i] = path }
        }
        var facts = RTSPFacts(server: options.header("Server").first, methods: methods, paths: found.withLock { $0 }.compactMap { $0 },
                              requests: 1 + paths.count)
        if !credentials.isEmpty, let locked = facts.paths.first(where: { $0.status == 401 }) {
            let uri = base + locked.path
            let login = DefaultLogin(credentials: credentials, host: host, pacer: pacer).run(challenges: locked.challenges, method: "DESCRIBE", uri: uri) { authorization in
                (try? request("DESCRIBE", uri, extra: ["Accept: application/sdp", "Authorization: \(authorization)"]))
                    .map { ($0.status, String(decoding: $0.body.prefix(4096), as: UTF8.self)) }
            }
            facts.defaultLogin = login
            facts.requests += login.attempts
        }
        return .success(facts)
    }

    struct RTSPAnswer {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1) }
    }

    func request(_ method: String, _ url: String, extra: [String] = []) throws(TCPConnection.Failure) -> RTSPAnswer {
        let lines = ["\(method) \(url) RTSP/1.0", "CSeq: 1", "User-Agent: rbscan/0.1"] + extra
        let connection = try TCPConnection(host: host, port: port, timeout: timeout)
        try connection.send(Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8), timeout: timeout)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        let received = try connection.receive(until: { HTTPProbe.complete($0, method: method) || Self.headersOnly($0) },
                                              limit: 1 << 16, deadline: deadline)
        let parsed = try HTTPProbe.parse(received, protocolPrefix: "RTSP/")
        return RTSPAnswer(status: parsed.status, headers: parsed.headers, body: parsed.body)
    }

    /// RTSP answers without Content-Length have no body: the header end completes them.
    static func headersOnly(_ bytes: [UInt8]) -> Bool {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return false }
        return !String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased().contains("content-length:")
    }
}

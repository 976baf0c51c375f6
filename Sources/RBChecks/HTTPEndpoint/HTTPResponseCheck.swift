import RBCore

/// `http.response`: judges what the HTTP probe saw on an `http://` / `https://` endpoint. One
/// check, several tests (`test:`), each a catalog sub-check:
/// - `cleartext-login`: a login form or 401 challenge served over cleartext HTTP (a redirect to
///   HTTPS passes) — RB-DAT-001;
/// - `basic-auth`: a `WWW-Authenticate: Basic` challenge over cleartext — RB-AUTH-004;
/// - `security-headers`: HSTS (HTTPS, max-age ≥ 31536000), `X-Content-Type-Options: nosniff`,
///   a CSP with `default-src` or `object-src`, `Referrer-Policy`, one finding each — RB-WEB-001;
/// - `framing`: neither `X-Frame-Options: DENY|SAMEORIGIN` nor CSP `frame-ancestors` — RB-WEB-002;
/// - `trace`: `TRACE /` answered 200 with the request echoed — RB-WEB-005;
/// - `directory-listing`: `/` is an auto-generated index — RB-WEB-004;
/// - `cors`: the test origin reflected (or `*`) with `Access-Control-Allow-Credentials: true` — RB-WEB-007;
/// - `auth-bypass`: a path refused without `?auth=YWRtaW46MTEK` answers with it — RB-AUTH-002;
/// - `cookies`: a session cookie (named like `sess|sid|token|auth`, or any cookie set by a login
///   page) without `Secure` (HTTPS), `HttpOnly` or `SameSite=Lax|Strict` — RB-WEB-003;
/// - `sensitive-paths`: a device-profile path answered 200 with its marker without credentials
///   (a catch-all 200 page without the marker passes) — RB-AUTH-001;
/// - `default-credentials`: with `--allow-auth-tests`, a profile default pair was accepted by the
///   web login or by the ONVIF service (WS-UsernameToken) — RB-PWD-001;
/// - `onvif-users`: the ONVIF device service answered `GetUsers` without credentials with a
///   user list — RB-AUTH-005.
/// Only pages that are the management UI's door (login form or challenge) are judged for
/// headers and framing; a redirect is judged by the page it leads to, on its own endpoint.
public struct HTTPResponseCheck: Check {
    public enum Test: String, Decodable, Sendable, CaseIterable {
        case cleartextLogin = "cleartext-login", basicAuth = "basic-auth", securityHeaders = "security-headers"
        case framing, trace, directoryListing = "directory-listing", cors, authBypass = "auth-bypass", cookies
        case sensitivePaths = "sensitive-paths", defaultCredentials = "default-credentials", onvifUsers = "onvif-users"
    }

    public struct Options: Decodable, Sendable {
        var test: Test
        var minimumHSTSSeconds: Int?
    }

    public static let id = "http.response"
    public static let summary = "Judges an HTTP endpoint's answers (login over cleartext, headers, TRACE, CORS, auth bypass)."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    let options: Options

    public init(options: Options) throws(CheckOptionError) { self.options = options }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let spec = context.target.spec
        guard spec.hasPrefix("http://") || spec.hasPrefix("https://") else { return [] }
        guard let facts = context.target.http else {
            context.report("no HTTP facts for this endpoint")
            return []
        }
        let cleartext = spec.hasPrefix("http://")
        let root = facts.root
        var observations: [Observation] = []
        func add(_ message: String, _ key: String, severity: Severity? = nil) {
            observations.append(Observation(severity: severity, message: "\(spec) " + message, location: Location(path: spec),
                                            evidence: Evidence(key: key, facts: ["status": String(root.status), "title": root.title ?? ""])))
        }
        switch options.test {
        case .cleartextLogin:
            if cleartext, facts.servesLogin {
                add(root.status == 401 ? "asks for credentials (401) over cleartext HTTP" : "serves a login form over cleartext HTTP without redirecting to HTTPS",
                    "cleartext-login")
            }
        case .basicAuth:
            guard cleartext, root.status == 401 else { break }
            for challenge in root.values("WWW-Authenticate") {
                switch AuthChallenge.weakness(challenge) {
                case .basic?: add("sends a Basic authentication challenge over cleartext: \(challenge)", "basic")
                case .digestMD5?: add("offers Digest authentication with MD5 only: \(challenge)", "digest-md5", severity: .low)
                case nil: break
                }
            }
        case .securityHeaders:
            guard facts.servesLogin || root.status == 200 else { break }
            if !cleartext {
                let hsts = root.values("Strict-Transport-Security").first
                let age = hsts.flatMap { value in
                    value.lowercased().split(separator: ";").compactMap { part -> Int? in
                        let pair = part.split(separator: "=").map { $0.trimmingWhitespace() }
                        return pair.count == 2 && pair[0] == "max-age" ? Int(pair[1]) : nil
                    }.first
                } ?? 0
                if age < (options.minimumHSTSSeconds ?? 31_536_000) {
                    add(hsts == nil ? "sends no Strict-Transport-Security header" : "sends Strict-Transport-Security with max-age \(age)", "hsts")
                }
            }
            if !root.values("X-Content-Type-Options").contains(where: { $0.lowercased().contains("nosniff") }) {
                add("sends no X-Content-Type-Options: nosniff", "nosniff")
            }
            let csp = root.values("Content-Security-Policy").joined(separator: ";").lowercased()
            if !(csp.contains("default-src") || csp.contains("object-src")) {
                add("sends no Content-Security-Policy with default-src or object-src", "csp")
            }
            if root.values("Referrer-Policy").isEmpty {
                add("sends no Referrer-Policy", "referrer-policy")
            }
        case .framing:
            guard facts.servesLogin || root.status == 200 else { break }
            let xfo = root.values("X-Frame-Options").map { $0.lowercased() }
            let csp = root.values("Content-Security-Policy").joined(separator: ";").lowercased()
            if !xfo.contains(where: { $0.contains("deny") || $0.contains("sameorigin") }) && !csp.contains("frame-ancestors") {
                add("can be framed: no X-Frame-Options DENY/SAMEORIGIN and no CSP frame-ancestors", "framing")
            }
        case .trace:
            if let trace = facts.trace, trace.status == 200, trace.echoed {
                add("answers TRACE and echoes the request", "trace")
            }
        case .directoryListing:
            if root.status == 200, root.directoryListing {
                add("lists a directory at / (\(root.title ?? "index"))", "listing:/")
            }
        case .cors:
            let origin = root.values("Access-Control-Allow-Origin").first
            let credentials = root.values("Access-Control-Allow-Credentials").contains { $0.lowercased() == "true" }
            if let origin, origin == "https://rbscan.invalid" || origin == "*" {
                if credentials {
                    add("allows any origin (\(origin)) with credentials", "cors-credentials")
                } else if origin == "*", facts.servesLogin {
                    add("allows any origin (*) on an authenticated page", "cors-wildcard", severity: .low)
                }
            }
        case .cookies:
            for cookie in root.values("Set-Cookie") {
                let parts = cookie.split(separator: ";").map { $0.trimmingWhitespace().lowercased() }
                let name = String(cookie.split(separator: "=").first ?? "").trimmingWhitespace()
                let lowerName = name.lowercased()
                guard facts.servesLogin || ["sess", "sid", "token", "auth"].contains(where: { lowerName.contains($0) }) else { continue }
                var missing: [String] = []
                if !cleartext, !parts.contains("secure") { missing.append("Secure") }
                if !parts.contains("httponly") { missing.append("HttpOnly") }
                if !parts.contains("samesite=lax") && !parts.contains("samesite=strict") { missing.append("SameSite=Lax|Strict") }
                if !missing.isEmpty {
                    add("sets cookie \(name) without \(missing.joined(separator: ", "))", "cookie:" + String(name))
                }
            }
        case .defaultCredentials:
            if let login = facts.defaultLogin, let user = login.accepted {
                add("accepts the default credentials of user \(user) (--allow-auth-tests)", "default-login:" + user)
            }
            if let onvif = facts.onvif, let user = onvif.defaultLogin?.accepted {
                add("ONVIF service \(onvif.path) accepts the default credentials of user \(user) (WS-UsernameToken, --allow-auth-tests)",
                    "onvif-default-login:" + user)
            }
        case .onvifUsers:
            if let onvif = facts.onvif, onvif.usersExposed {
                observations.append(Observation(
                    message: "\(spec) ONVIF service \(onvif.path) answers GetUsers without authentication, listing \(onvif.usernames.count) user(s)",
                    location: Location(path: spec),
                    evidence: Evidence(key: "onvif-getusers:" + onvif.path,
                                       facts: ["status": String(onvif.getUsers.status), "users": onvif.usernames.joined(separator: ", ")])))
            }
        case .sensitivePaths:
            for item in facts.sensitive where item.marker {
                add("serves \(item.path) without authentication", "unauthenticated:" + item.path)
            }
        case .authBypass:
            for bypass in facts.authBypass where bypass.marker {
                add("answers \(bypass.path)?auth=… (\(bypass.statusWith)) after refusing it without (\(bypass.statusWithout)): CVE-2017-7921 pattern",
                    "auth-bypass:" + bypass.path)
            }
        }
        return observations
    }
}

import RBCore
import RBCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Opt-in (`--allow-auth-tests`) default-credential attempts on a surface that answered 401:
/// at most the profile's pairs, one attempt per pair, paced per host by the scan's `LoginPacer`
/// (2 s apart across every surface of the host), stopping at the first lockout signal (403,
/// 423, 429, or "lock" in the answer) here or on another surface of the host.
struct DefaultLogin {
    let credentials: [DeviceProfile.Credential]
    let host: String
    let pacer: LoginPacer

    /// `attempt(authorization)` sends one request and returns (status, body).
    func run(challenges: [String], method: String, uri: String,
             attempt: (String) -> (status: Int, body: String)?) -> LoginAttempts {
        guard let challenge = challenges.first(where: { $0.lowercased().hasPrefix("digest") }) ?? challenges.first else {
            return LoginAttempts(attempts: 0, accepted: nil, lockout: false)
        }
        return pacer.attempts(credentials, on: host) { pair in
            guard let authorization = Self.authorization(challenge: challenge, method: method, uri: uri, user: pair.user, password: pair.password),
                  let answer = attempt(authorization) else { return .failed }
            if [403, 423, 429].contains(answer.status) || answer.body.lowercased().contains("lock") { return .lockout }
            return answer.status != 401 && answer.status < 400 ? .accepted : .refused
        }
    }

    /// The `Authorization` header value for a Basic or Digest (MD5, qop=auth) challenge.
    static func authorization(challenge: String, method: String, uri: String, user: String, password: String) -> String? {
        let scheme = challenge.split(separator: " ").first?.lowercased() ?? ""
        if scheme == "basic" {
            return "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
        }
        guard scheme == "digest" else { return nil }
        let parameters = Self.parameters(String(challenge.dropFirst(6)))
        guard let realm = parameters["realm"], let nonce = parameters["nonce"] else { return nil }
        let ha1 = md5Hex("\(user):\(realm):\(password)")
        let ha2 = md5Hex("\(method):\(uri)")
        var header = "Digest username=\"\(user)\", realm=\"\(realm)\", nonce=\"\(nonce)\", uri=\"\(uri)\""
        if let qop = parameters["qop"], qop.split(separator: ",").map({ $0.trimmingWhitespace() }).contains("auth") {
            let cnonce = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            header += ", qop=auth, nc=00000001, cnonce=\"\(cnonce)\", response=\"\(md5Hex("\(ha1):\(nonce):00000001:\(cnonce):auth:\(ha2)"))\""
        } else {
            header += ", response=\"\(md5Hex("\(ha1):\(nonce):\(ha2)"))\""
        }
        if let opaque = parameters["opaque"] { header += ", opaque=\"\(opaque)\"" }
        return header
    }

    /// `realm="x", nonce="y", qop="auth"` → a dictionary (quoted or bare values).
    static func parameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(text)
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].trimmingWhitespace().trimmingPrefix(",").trimmingWhitespace().lowercased()
            rest = rest[rest.index(after: equals)...]
            var value: Substring
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let close = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = rest[..<close]
                rest = close < rest.endIndex ? rest[rest.index(after: close)...] : rest[close...]
            } else {
                let comma = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<comma]
                rest = rest[comma...]
            }
            result[String(key)] = String(value.trimmingWhitespace())
            if let comma = rest.firstIndex(of: ",") { rest = rest[rest.index(after: comma)...] } else { break }
        }
        return result
    }

    /// Lower-case hex MD5 (RFC 7616's H for the MD5 algorithm).
    static func md5Hex(_ text: String) -> String {
        Hex.encode(Digest.hash(Array(text.utf8), .md5) ?? [])
    }
}

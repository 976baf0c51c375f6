import RBCore
import RBCrypto
#if canImport(Glibc)
import Glibc
#endif

/// ONVIF device service requests (SOAP 1.2 over the HTTP probe's connection settings):
/// `tds:GetUsers` and `tds:GetDeviceInformation` without a `wsse:Security` header (RB-AUTH-005,
/// RB-SEN-004), and, with `--allow-auth-tests` and only when those were refused,
/// GetDeviceInformation with a WS-UsernameToken PasswordDigest per default pair (RB-PWD-001).
/// Both operations only read.
struct ONVIFClient {
    let http: HTTPProbe
    let path: String
    let credentials: [DeviceProfile.Credential]

    static let deviceNamespace = "http://www.onvif.org/ver10/device/wsdl"

    /// The facts (nil when the path does not answer as a SOAP service) and the requests sent.
    func run() -> (ONVIFFacts?, Int) {
        guard let users = try? send("GetUsers") else { return (nil, 1) }
        let texts = XMLElements.texts(["Envelope", "Fault", "Value", "Text", "Username"], in: users.body)
        // Not ONVIF: no SOAP envelope (a 404 page, a web UI, a redirect to a login form).
        guard let texts, texts["Envelope"] != nil || users.status == 401 else { return (nil, 1) }
        var facts = ONVIFFacts(path: path, getUsers: ONVIFFacts.Answer(status: users.status, fault: Self.fault(texts)))
        if facts.getUsers.fault == nil && users.status == 200 { facts.usernames = texts["Username"] ?? [] }
        var requests = 1
        if let information = try? send("GetDeviceInformation") {
            requests += 1
            let fields = ["Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId"]
            let infoTexts = XMLElements.texts(Set(fields + ["Fault", "Value", "Text"]), in: information.body)
            let fault = infoTexts.flatMap(Self.fault)
            facts.getDeviceInformation = ONVIFFacts.Answer(status: information.status, fault: fault)
            if information.status == 200, fault == nil, let infoTexts {
                for field in fields { if let value = infoTexts[field]?.first, !value.isEmpty { facts.deviceInformation[field] = value } }
            }
        }
        let refused = facts.getUsers.fault != nil || [400, 401, 403].contains(facts.getUsers.status)
        if refused, !credentials.isEmpty {
            let login = http.pacer.attempts(credentials, on: http.host) { pair in
                guard let answer = try? send("GetDeviceInformation", security: Self.usernameToken(user: pair.user, password: pair.password)) else {
                    return .failed
                }
                let text = String(decoding: answer.body.prefix(8192), as: UTF8.self).lowercased()
                if [423, 429].contains(answer.status) || text.contains("lock") { return .lockout }
                let fault = XMLElements.texts(["Fault", "Value", "Text"], in: answer.body).flatMap(Self.fault)
                return answer.status == 200 && fault == nil ? .accepted : .refused
            }
            requests += login.attempts
            facts.defaultLogin = login
        }
        return (facts, requests)
    }

    /// A server that ignores the POST (openssl s_server -www waits for more input) costs at
    /// most 3 s: ONVIF stacks answer well within that.
    func send(_ operation: String, security: String = "") throws(TCPConnection.Failure) -> HTTPProbe.HTTPResponse {
        let envelope = """
        <?xml version="1.0" encoding="UTF-8"?>
        <s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="\(Self.deviceNamespace)">\
        <s:Header>\(security)</s:Header><s:Body><tds:\(operation)/></s:Body></s:Envelope>
        """
        return try http.request("POST", path, extra: ["Content-Type: application/soap+xml; charset=utf-8; action=\"\(Self.deviceNamespace)/\(operation)\""],
                                body: Array(envelope.utf8), wait: min(http.timeout, 3), enough: Self.answerRead)
    }

    /// Enough of an answer for ONVIF: a SOAP envelope's end tag, or headers whose content type
    /// is not XML (a web page: not ONVIF, its body is not needed).
    @Sendable static func answerRead(_ bytes: [UInt8]) -> Bool {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return false }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        guard head.contains("content-type:") else { return false }
        let contentType = head.split(separator: "\r\n").first { $0.hasPrefix("content-type:") } ?? ""
        if !contentType.contains("xml") { return true }
        let body = String(decoding: bytes[end.upperBound...].suffix(64), as: UTF8.self)
        return body.contains("Envelope>")
    }

    /// A SOAP fault's most specific code (`ter:NotAuthorized`) or its reason text; nil without a fault.
    static func fault(_ texts: [String: [String]]) -> String? {
        guard texts["Fault"] != nil else { return nil }
        return texts["Value"]?.last ?? texts["Text"]?.first ?? "fault"
    }

    /// A WS-Security UsernameToken with PasswordDigest = Base64(SHA-1(nonce + created + password)).
    static func usernameToken(user: String, password: String) -> String {
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let created = isoNow()
        let digest = Digest.hash(nonce + Array(created.utf8) + Array(password.utf8), .sha1) ?? []
        let wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
        let wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
        let profile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
        return """
        <wsse:Security s:mustUnderstand="1" xmlns:wsse="\(wsse)" xmlns:wsu="\(wsu)"><wsse:UsernameToken>\
        <wsse:Username>\(xmlEscape(user))</wsse:Username>\
        <wsse:Password Type="\(profile)#PasswordDigest">\(Base64.encode(digest))</wsse:Password>\
        <wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">\(Base64.encode(nonce))</wsse:Nonce>\
        <wsu:Created>\(created)</wsu:Created></wsse:UsernameToken></wsse:Security>
        """
    }

    static func xmlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func isoNow() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

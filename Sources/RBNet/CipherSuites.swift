import COpenSSL

/// Cipher suite identities: every IANA-assigned range is offered; names come from OpenSSL's
/// table (IANA standard names) and, for the suites OpenSSL removed (EXPORT, single DES, IDEA,
/// FORTEZZA…), from a small table of the legacy IANA entries rbscan must still recognise.
public enum CipherSuites {
    /// The TLS 1.3 suites.
    static let tls13: [UInt16] = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305]

    /// What ≤ TLS 1.2 ClientHellos offer: the IANA ranges that hold assigned suites.
    static let legacy: [UInt16] = Array(0x0000...0x00ff).map(UInt16.init).filter { $0 != 0x00ff }
        + Array(0xc001...0xc0ff).map(UInt16.init) + Array(0xcca8...0xccae).map(UInt16.init)
        + Array(0xd001...0xd005).map(UInt16.init) + Array(0x0100...0x0101).map(UInt16.init)

    static let removedFromOpenSSL: [UInt16: String] = [
        0x0001: "TLS_RSA_WITH_NULL_MD5", 0x0002: "TLS_RSA_WITH_NULL_SHA",
        0x0003: "TLS_RSA_EXPORT_WITH_RC4_40_MD5", 0x0004: "TLS_RSA_WITH_RC4_128_MD5", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
        0x0006: "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", 0x0007: "TLS_RSA_WITH_IDEA_CBC_SHA",
        0x0008: "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", 0x0009: "TLS_RSA_WITH_DES_CBC_SHA",
        0x000b: "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", 0x000c: "TLS_DH_DSS_WITH_DES_CBC_SHA",
        0x000e: "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", 0x000f: "TLS_DH_RSA_WITH_DES_CBC_SHA",
        0x0011: "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", 0x0012: "TLS_DHE_DSS_WITH_DES_CBC_SHA",
        0x0014: "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", 0x0015: "TLS_DHE_RSA_WITH_DES_CBC_SHA",
        0x0017: "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", 0x0018: "TLS_DH_anon_WITH_RC4_128_MD5",
        0x0019: "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", 0x001a: "TLS_DH_anon_WITH_DES_CBC_SHA",
        0x0062: "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", 0x0063: "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA",
        0x0064: "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", 0x0065: "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA",
        0x0066: "TLS_DHE_DSS_WITH_RC4_128_SHA",
    ]

    /// The IANA name of `suite` ("0xC0FF" when neither table knows it).
    public static func name(_ suite: UInt16) -> String {
        if let known = openSSLNames[suite] { return known }
        if let legacy = removedFromOpenSSL[suite] { return legacy }
        return "0x" + String(format4(suite))
    }

    static func format4(_ value: UInt16) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// OpenSSL's standard names for every suite it has, read once.
    static let openSSLNames: [UInt16: String] = {
        var names: [UInt16: String] = [:]
        guard let context = SSL_CTX_new(TLS_method()) else { return names }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_security_level(context, 0)
        guard let ssl = SSL_new(context) else { return names }
        defer { SSL_free(ssl) }
        for suite in legacy + tls13 {
            let bytes: [UInt8] = [UInt8(suite >> 8), UInt8(suite & 0xff)]
            if let cipher = SSL_CIPHER_find(ssl, bytes), let name = SSL_CIPHER_standard_name(cipher) {
                names[suite] = String(cString: name)
            }
        }
        return names
    }()
}

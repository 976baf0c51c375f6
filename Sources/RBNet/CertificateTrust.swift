import COpenSSL
import RBCore

/// Chain verification of a served certificate through OpenSSL: against the anchors of a CA
/// file (`--ca-file`), with the intermediates the server sent, at the current time, for the TLS
/// server purpose; and whether the leaf names the host scanned (DNS name or IP address).
public enum CertificateTrust {
    /// Fails with a message when `path` holds no certificate OpenSSL can load.
    public static func validate(caFile path: String) -> String? {
        guard let store = X509_STORE_new() else { return "X509_STORE_new failed" }
        defer { X509_STORE_free(store) }
        defer { ERR_clear_error() }
        guard X509_STORE_load_file(store, path) == 1 else {
            return "cannot load CA certificates from \(path): \(TLSStream.lastError())"
        }
        return nil
    }

    /// Verifies `leaf` with `chain` (the other certificates the server sent).
    static func verify(leaf: OpaquePointer, chain: OpaquePointer?, caFile: String, host: String) -> TLSFacts.Trust {
        var trust = TLSFacts.Trust(caFile: caFile, verified: false, error: nil, hostnameMatch: matches(leaf, host: host))
        defer { ERR_clear_error() }
        guard let store = X509_STORE_new(), let context = X509_STORE_CTX_new() else {
            trust.error = "OpenSSL allocation failed"
            return trust
        }
        defer { X509_STORE_free(store); X509_STORE_CTX_free(context) }
        guard X509_STORE_load_file(store, caFile) == 1 else {
            trust.error = "cannot load \(caFile): \(TLSStream.lastError())"
            return trust
        }
        guard X509_STORE_CTX_init(context, store, leaf, chain) == 1 else {
            trust.error = "X509_STORE_CTX_init failed"
            return trust
        }
        _ = X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_SERVER)
        trust.verified = X509_verify_cert(context) == 1
        if !trust.verified {
            let code = X509_STORE_CTX_get_error(context)
            trust.error = String(cString: X509_verify_cert_error_string(Int(code)))
        }
        return trust
    }

    /// Whether the certificate names `host`: subjectAltName (or CN) DNS match, or IP address.
    static func matches(_ leaf: OpaquePointer, host: String) -> Bool {
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        return isIP ? X509_check_ip_asc(leaf, host, 0) == 1 : X509_check_host(leaf, host, host.utf8.count, 0, nil) == 1
    }
}

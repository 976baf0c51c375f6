import COpenSSL

/// PKCS#12 bundles (`.p12`, `.pfx`), opened the way OpenSSL's own tools try them.
public enum PKCS12 {
    public enum Contents {
        /// It opened without a password and holds this private key.
        case privateKey(Key)
        /// It opened without a password and holds certificates only.
        case certificatesOnly
        /// It needs a real password.
        case passwordProtected
    }

    /// What the DER bundle `der` holds with an empty password (and with none); nil when it is
    /// no PKCS#12 bundle.
    public static func open(_ der: [UInt8]) -> Contents? {
        der.withUnsafeBufferPointer { buffer -> Contents? in
            defer { ERR_clear_error() }
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let bundle = d2i_PKCS12(nil, &cursor, buffer.count) else { return nil }
            defer { PKCS12_free(bundle) }
            for password in ["", nil] as [String?] {
                var key: OpaquePointer?
                var certificate: OpaquePointer?
                let opened = password.map { PKCS12_parse(bundle, $0, &key, &certificate, nil) } ?? PKCS12_parse(bundle, nil, &key, &certificate, nil)
                if let certificate { X509_free(certificate) }
                if opened == 1 {
                    return key.map { .privateKey(Key(owning: $0)) } ?? .certificatesOnly
                }
                if let key { EVP_PKEY_free(key) }
            }
            return .passwordProtected
        }
    }
}

import COpenSSL

/// Detached CMS / PKCS#7 signatures (`IMAGE.p7s`, `openssl cms -sign -binary`), as vendor
/// update images carry them.
public enum CMS {
    /// What a detached signature covers: bytes in memory, or a host file OpenSSL reads itself
    /// (a scanned image is never loaded whole).
    public enum Content {
        case bytes([UInt8])
        case file(String)
    }

    /// Whether `signature` (DER, or PEM when it starts with `-----BEGIN`) verifies over
    /// `content` and one of its signers holds one of `keys`. The signer's certificate chain is
    /// not verified: the given keys are the trust.
    public static func verifiesDetached(_ signature: [UInt8], content: Content, keys: [Key]) -> Bool {
        defer { ERR_clear_error() }
        let cms: OpaquePointer? = signature.withUnsafeBufferPointer { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(clamping: buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            if signature.starts(with: Array("-----BEGIN".utf8)) { return PEM_read_bio_CMS(bio, nil, nil, nil) }
            return d2i_CMS_bio(bio, nil)
        }
        guard let cms else { return false }
        defer { CMS_ContentInfo_free(cms) }
        let verified = withBIO(content) { data in
            CMS_verify(cms, nil, nil, data, nil, UInt32(CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY)) == 1
        } ?? false
        guard verified, let signers = CMS_get0_signers(cms) else { return false }
        defer { OPENSSL_sk_free(signers) }
        for i in 0..<OPENSSL_sk_num(signers) {
            guard let certificate = OPENSSL_sk_value(signers, i).map({ OpaquePointer($0) }),
                  let signerKey = X509_get0_pubkey(certificate) else { continue }
            if keys.contains(where: { EVP_PKEY_eq($0.pointer, signerKey) == 1 }) { return true }
        }
        return false
    }

    /// `body` with a BIO reading `content` (a file BIO for a host file); nil when it cannot be
    /// opened.
    static func withBIO<T>(_ content: Content, _ body: (OpaquePointer) -> T?) -> T? {
        switch content {
        case .bytes(let bytes):
            return bytes.withUnsafeBufferPointer { buffer in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(clamping: buffer.count)) else { return nil }
                defer { BIO_free(bio) }
                return body(bio)
            }
        case .file(let path):
            guard let bio = BIO_new_file(path, "rb") else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }
}

import COpenSSL

/// Signature verification with a `Key`: over a message (EVP_DigestVerify, which hashes it, as
/// FIT signatures and Ed25519 need) or over a digest computed beforehand (EVP_PKEY_verify, for
/// an image hashed as a stream). OpenSSL's error queue is left empty either way: a signature
/// that does not verify is an answer, not an error.
extension Key {
    /// RSA padding: PKCS#1 v1.5, or PSS with the salt length taken from the signature.
    public enum Padding: Sendable {
        case pkcs1, pss
    }

    /// Whether `signature` is valid over `message`, hashed with `digest` (nil for keys that hash
    /// by themselves: Ed25519, Ed448). `padding` applies to RSA keys only.
    public func verifies(_ signature: [UInt8], message: [UInt8], digest: Digest.Algorithm?, padding: Padding? = nil) -> Bool {
        defer { ERR_clear_error() }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, digest?.evp, nil, pointer) == 1 else { return false }
        if let padding, let pctx, !Self.setPadding(padding, on: pctx) { return false }
        return EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
    }

    /// Whether `signature` is valid over a message whose `algorithm` digest is `digest` (RSA,
    /// ECDSA, DSA; not Ed25519, which signs the message itself).
    public func verifies(_ signature: [UInt8], digest: [UInt8], algorithm: Digest.Algorithm, padding: Padding? = nil) -> Bool {
        defer { ERR_clear_error() }
        guard let ctx = EVP_PKEY_CTX_new(pointer, nil) else { return false }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_verify_init(ctx) == 1, EVP_PKEY_CTX_set_signature_md(ctx, algorithm.evp) == 1 else { return false }
        if let padding, !Self.setPadding(padding, on: ctx) { return false }
        return EVP_PKEY_verify(ctx, signature, signature.count, digest, digest.count) == 1
    }

    private static func setPadding(_ padding: Padding, on ctx: OpaquePointer) -> Bool {
        switch padding {
        case .pkcs1:
            return EVP_PKEY_CTX_set_rsa_padding(ctx, rb_rsa_pkcs1_padding()) == 1
        case .pss:
            return EVP_PKEY_CTX_set_rsa_padding(ctx, rb_rsa_pss_padding()) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, rb_rsa_pss_saltlen_auto()) == 1
        }
    }
}

public enum ECDSA {
    /// A raw ECDSA signature `r || s` (two equal halves, as U-Boot stores it) in the DER form
    /// OpenSSL verifies; nil for an odd or empty length, or a DER form over 160 bytes (P-521's
    /// is at most 139).
    public static func derSignature(raw: [UInt8]) -> [UInt8]? {
        var der = [UInt8](repeating: 0, count: 160)
        let n = rb_ecdsa_raw_to_der(raw, raw.count, &der, Int32(der.count))
        guard n > 0 else { return nil }
        return Array(der.prefix(Int(n)))
    }
}

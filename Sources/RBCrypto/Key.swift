import COpenSSL

/// An asymmetric key read by OpenSSL (an EVP_PKEY, freed with the value): a public key that
/// verifies signatures, or a private key of which only the public half is used, as its
/// identity. Read from PEM or DER here, from certificates (`Certificate.publicKey`), PKCS#12
/// bundles, or the raw numbers U-Boot stores.
public final class Key {
    let pointer: OpaquePointer

    /// Takes over one reference to `pointer`.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    public enum Kind: Sendable, Equatable {
        case rsa, ec, dsa, ed25519, ed448
        /// Any other type, by OpenSSL's short name (`nid N` when it has none).
        case other(String)

        /// RSA, EC, DSA, Ed25519, Ed448 or the OpenSSL short name.
        public var name: String {
            switch self {
            case .rsa: "RSA"
            case .ec: "EC"
            case .dsa: "DSA"
            case .ed25519: "Ed25519"
            case .ed448: "Ed448"
            case .other(let name): name
            }
        }
    }

    public var kind: Kind {
        let id = EVP_PKEY_get_base_id(pointer)
        switch id {
        case rb_pkey_rsa(): return .rsa
        case rb_pkey_ec(): return .ec
        case rb_pkey_dsa(): return .dsa
        case rb_pkey_ed25519(): return .ed25519
        case rb_pkey_ed448(): return .ed448
        default: return .other(OBJ_nid2sn(id).map { String(cString: $0) } ?? "nid \(id)")
        }
    }

    /// The key size in bits (the modulus for RSA and DSA, the curve for EC).
    public var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// SHA-256 (hex) of the DER SubjectPublicKeyInfo: the key's identity across files, formats
    /// and devices, the same for a private key and its public half; "" if OpenSSL cannot encode
    /// the key.
    public var spkiSHA256: String {
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pointer, &der)
        guard length > 0, let der else { return "" }
        defer { CRYPTO_free(der, #fileID, #line) }
        return Digest.sha256Hex(UnsafeBufferPointer(start: der, count: Int(length)))
    }

    /// Whether `other` is the same public key.
    public func hasSamePublicKey(as other: Key) -> Bool {
        EVP_PKEY_eq(pointer, other.pointer) == 1
    }

    /// The public key of a PEM text: its first `PUBLIC KEY` block, else the key of its first
    /// certificate; nil when it has neither.
    public static func publicKey(pem: [UInt8]) -> Key? {
        pem.withUnsafeBufferPointer { buffer -> Key? in
            defer { ERR_clear_error() }
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(clamping: buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            if let key = PEM_read_bio_PUBKEY(bio, nil, nil, nil) { return Key(owning: key) }
            _ = BIO_ctrl(bio, BIO_CTRL_RESET, 0, nil)
            guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
            defer { X509_free(certificate) }
            return X509_get_pubkey(certificate).map(Key.init(owning:))
        }
    }

    /// The private keys OpenSSL reads from `bytes` without a passphrase: every PEM one (PKCS#1,
    /// SEC1, PKCS#8; at most `limit`, a PEM file may hold several), else one DER key (PKCS#8 or
    /// traditional) when `bytes` are under 64 KiB. Encrypted keys are skipped, never prompted for.
    public static func privateKeys(in bytes: [UInt8], limit: Int = 16) -> [Key] {
        var keys: [Key] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            defer { ERR_clear_error() }
            if let bio = BIO_new_mem_buf(base, Int32(clamping: buffer.count)) {
                defer { BIO_free(bio) }
                // A passphrase callback that gives none.
                while keys.count < limit, let key = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil) {
                    keys.append(Key(owning: key))
                }
            }
            if keys.isEmpty, buffer.count < 1 << 16 {
                var cursor: UnsafePointer<UInt8>? = base
                if let key = d2i_AutoPrivateKey(nil, &cursor, buffer.count) { keys.append(Key(owning: key)) }
            }
        }
        return keys
    }

    /// An RSA public key from its big-endian modulus and exponent (U-Boot's `rsa,modulus` and
    /// `rsa,exponent`).
    public convenience init?(rsaModulus modulus: [UInt8], exponent: [UInt8]) {
        guard let key = rb_rsa_public_key(modulus, modulus.count, exponent, exponent.count) else { return nil }
        self.init(owning: key)
    }

    /// An EC public key on the named `curve` (`prime256v1`, `secp384r1`) from its uncompressed
    /// point `04 || x || y`.
    public convenience init?(ecCurve curve: String, point: [UInt8]) {
        guard let key = rb_ec_public_key(curve, point, point.count) else { return nil }
        self.init(owning: key)
    }
}

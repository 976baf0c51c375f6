import COpenSSL

/// AES decryption without padding removal, for vendor schemes whose key is public or shipped in
/// every unit: D-Link SHRS firmware, configuration exports. Callers look at the plaintext
/// themselves (a header, a configuration's first bytes), so nothing here judges it.
public enum AES {
    public enum Mode: Sendable {
        case ecb
        /// CBC with this 16-byte IV.
        case cbc(iv: [UInt8])
    }

    /// `data` (whole 16-byte blocks) decrypted with AES-128, -192 or -256 by the key's length;
    /// nil for another key length, an IV that is not 16 bytes, a partial block, or an OpenSSL
    /// failure.
    public static func decrypt(_ data: [UInt8], key: [UInt8], mode: Mode) -> [UInt8]? {
        let cipher: OpaquePointer?
        let iv: [UInt8]?
        switch (key.count, mode) {
        case (16, .ecb): (cipher, iv) = (EVP_aes_128_ecb(), nil)
        case (24, .ecb): (cipher, iv) = (EVP_aes_192_ecb(), nil)
        case (32, .ecb): (cipher, iv) = (EVP_aes_256_ecb(), nil)
        case (16, .cbc(let vector)): (cipher, iv) = (EVP_aes_128_cbc(), vector)
        case (24, .cbc(let vector)): (cipher, iv) = (EVP_aes_192_cbc(), vector)
        case (32, .cbc(let vector)): (cipher, iv) = (EVP_aes_256_cbc(), vector)
        default: return nil
        }
        guard data.count % 16 == 0, iv == nil || iv?.count == 16, let context = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(context) }
        guard EVP_DecryptInit_ex(context, cipher, nil, key, iv) == 1 else { return nil }
        EVP_CIPHER_CTX_set_padding(context, 0)
        var out = [UInt8](repeating: 0, count: data.count + 16)
        var written: Int32 = 0
        guard EVP_DecryptUpdate(context, &out, &written, data, Int32(data.count)) == 1 else { return nil }
        return Array(out.prefix(Int(written)))
    }
}

/// Single-DES ECB decryption (OpenSSL's legacy provider), for vendor schemes whose key is
/// public: Hi-Link's encrypted uImage.
public enum DES {
    /// The cipher, fetched once (nil when OpenSSL's legacy provider is missing).
    private static let cipher: Cipher? = rb_des_ecb_fetch().map(Cipher.init)

    private final class Cipher: @unchecked Sendable {
        // @unchecked: an immutable EVP_CIPHER, which OpenSSL allows sharing across threads.
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }

    /// Decrypts whole 8-byte blocks of `data` (a trailing partial block is zero-padded); nil
    /// for a key that is not 8 bytes, or without the legacy provider.
    public static func decryptECB(_ data: [UInt8], key: [UInt8]) -> [UInt8]? {
        guard let cipher, key.count == 8, let context = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(context) }
        var input = data
        if input.count % 8 != 0 { input += [UInt8](repeating: 0, count: 8 - input.count % 8) }
        guard EVP_DecryptInit_ex2(context, cipher.pointer, key, nil, nil) == 1 else { return nil }
        EVP_CIPHER_CTX_set_padding(context, 0)
        var out = [UInt8](repeating: 0, count: input.count + 8)
        var written: Int32 = 0
        guard EVP_DecryptUpdate(context, &out, &written, input, Int32(input.count)) == 1 else { return nil }
        return Array(out.prefix(Int(written)))
    }
}

import COpenSSL

/// Single-DES ECB decryption (OpenSSL's legacy provider), for vendor schemes whose key is
/// public: Hi-Link's encrypted uImage, TP-Link's configuration backups.
enum DES {
    /// The cipher, fetched once (nil when OpenSSL's legacy provider is missing).
    private static let cipher: Cipher? = rb_des_ecb_fetch().map(Cipher.init)

    private final class Cipher: @unchecked Sendable {
        // @unchecked: an immutable EVP_CIPHER, which OpenSSL allows sharing across threads.
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }

    /// Decrypts whole 8-byte blocks of `data` (a trailing partial block is zero-padded).
    static func decryptECB(_ data: [UInt8], key: [UInt8]) -> [UInt8]? {
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

/// AES-CBC decryption (OpenSSL), for vendor containers whose key is public (D-Link SHRS).
enum AES {
    /// Decrypts whole 16-byte blocks of `data` with AES-128/256-CBC (by key length), no padding.
    static func decryptCBC(_ data: [UInt8], key: [UInt8], iv: [UInt8]) -> [UInt8]? {
        guard iv.count == 16, data.count % 16 == 0, let context = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(context) }
        let cipher = key.count == 16 ? EVP_aes_128_cbc() : key.count == 32 ? EVP_aes_256_cbc() : nil
        guard let cipher, EVP_DecryptInit_ex(context, cipher, nil, key, iv) == 1 else { return nil }
        EVP_CIPHER_CTX_set_padding(context, 0)
        var out = [UInt8](repeating: 0, count: data.count + 16)
        var written: Int32 = 0
        guard EVP_DecryptUpdate(context, &out, &written, data, Int32(data.count)) == 1 else { return nil }
        return Array(out.prefix(Int(written)))
    }
}

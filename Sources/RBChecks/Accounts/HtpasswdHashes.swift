import COpenSSL

/// The two htpasswd formats libxcrypt does not compute: Apache's `$apr1$` (MD5-crypt with its
/// own magic string, 1000 rounds) and `{SHA}` (base64 of an unsalted SHA-1), through OpenSSL's
/// digests. Used by the default-password check; one instance per thread (it keeps a context).
final class HtpasswdHashes {
    private let context = EVP_MD_CTX_new()

    deinit { EVP_MD_CTX_free(context) }

    private func digest(_ parts: [ArraySlice<UInt8>], _ md: OpaquePointer?) -> [UInt8] {
        EVP_DigestInit_ex(context, md, nil)
        for part in parts { part.withUnsafeBufferPointer { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) } }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    /// Whether `password` produces the htpasswd `hash` (`$apr1$salt$…` or `{SHA}…`); nil when
    /// the format is neither.
    func matches(password: [UInt8], hash: String) -> Bool? {
        if hash.hasPrefix("{SHA}") {
            return HtpasswdHashes.base64(digest([password[...]], EVP_sha1())) == String(hash.dropFirst(5))
        }
        guard hash.hasPrefix("$apr1$") else { return nil }
        let rest = hash.dropFirst(6)
        guard let dollar = rest.firstIndex(of: "$") else { return false }
        let salt = Array(rest[..<dollar].prefix(8).utf8)
        return apr1(password, salt: salt) == hash
    }

    /// MD5-crypt as Apache's apr_md5_encode computes it, with the magic "$apr1$".
    func apr1(_ password: [UInt8], salt: [UInt8]) -> String {
        let magic = Array("$apr1$".utf8)
        let alternate = digest([password[...], salt[...], password[...]], EVP_md5())
        var parts: [ArraySlice<UInt8>] = [password[...], magic[...], salt[...]]
        var remaining = password.count
        while remaining > 0 {
            parts.append(alternate[0..<min(16, remaining)])
            remaining -= 16
        }
        var bits = password.count
        let zero: [UInt8] = [0]
        while bits > 0 {
            parts.append(bits & 1 != 0 ? zero[...] : password.prefix(1))
            bits >>= 1
        }
        var final = digest(parts, EVP_md5())
        for round in 0..<1000 {
            var step: [ArraySlice<UInt8>] = [round & 1 != 0 ? password[...] : final[...]]
            if round % 3 != 0 { step.append(salt[...]) }
            if round % 7 != 0 { step.append(password[...]) }
            step.append(round & 1 != 0 ? final[...] : password[...])
            final = digest(step, EVP_md5())
        }
        let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var out = ""
        func encode(_ value: UInt32, _ count: Int) {
            var v = value
            for _ in 0..<count {
                out.append(Character(Unicode.Scalar(alphabet[Int(v & 0x3f)])))
                v >>= 6
            }
        }
        for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
            encode(UInt32(final[a]) << 16 | UInt32(final[b]) << 8 | UInt32(final[c]), 4)
        }
        encode(UInt32(final[11]), 2)
        return "$apr1$" + String(decoding: salt, as: UTF8.self) + "$" + out
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out = [UInt8]()
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? table[Int((b1 & 0xf) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? table[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

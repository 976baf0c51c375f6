import RBCrypto

/// The two htpasswd formats libxcrypt does not compute: Apache's `$apr1$` (MD5-crypt with its
/// own magic string, 1000 rounds) and `{SHA}` (base64 of an unsalted SHA-1), through RBCrypto's
/// digests. Used by the default-password check; one instance per thread (it keeps its digests,
/// each reused for the next message rather than made for each of the 1000 rounds).
final class HtpasswdHashes {
    private let md5 = Digest(.md5)
    private let sha1 = Digest(.sha1)

    private func digest(_ parts: [ArraySlice<UInt8>], _ digest: Digest) -> [UInt8] {
        for part in parts { digest.update(part) }
        return digest.finalize() ?? []
    }

    /// Whether `password` produces the htpasswd `hash` (`$apr1$salt$…` or `{SHA}…`); nil when
    /// the format is neither.
    func matches(password: [UInt8], hash: String) -> Bool? {
        if hash.hasPrefix("{SHA}") {
            return Base64.encode(digest([password[...]], sha1)) == String(hash.dropFirst(5))
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
        let alternate = digest([password[...], salt[...], password[...]], md5)
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
        var final = digest(parts, md5)
        for round in 0..<1000 {
            var step: [ArraySlice<UInt8>] = [round & 1 != 0 ? password[...] : final[...]]
            if round % 3 != 0 { step.append(salt[...]) }
            if round % 7 != 0 { step.append(password[...]) }
            step.append(round & 1 != 0 ? final[...] : password[...])
            final = digest(step, md5)
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
}

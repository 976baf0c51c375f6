import COpenSSL
import RBCrypto

/// Stable finding fingerprints and digests, through OpenSSL's SHA-256.
public enum Fingerprint {
    /// `sha256(ruleID NUL path NUL key)`, first 32 hex digits. Deliberately without line numbers,
    /// timestamps or the target's own name, so a finding keeps its fingerprint across runs, edits
    /// above it and image rebuilds.
    public static func of(ruleID: String, path: String, key: String) -> String {
        let hex = sha256Hex(Array((ruleID + "\u{0}" + path + "\u{0}" + key).utf8))
        return String(hex.prefix(32))
    }

    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBufferPointer { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "EVP_Digest(SHA-256) failed")
        return Hex.encode(digest[0..<Int(length)])
    }
}

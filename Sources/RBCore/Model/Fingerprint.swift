import RBCrypto

/// Stable finding fingerprints, through RBCrypto's SHA-256.
public enum Fingerprint {
    /// `sha256(ruleID NUL path NUL key)`, first 32 hex digits. Deliberately without line numbers,
    /// timestamps or the target's own name, so a finding keeps its fingerprint across runs, edits
    /// above it and image rebuilds.
    public static func of(ruleID: String, path: String, key: String) -> String {
        let hex = Digest.sha256Hex(Array((ruleID + "\u{0}" + path + "\u{0}" + key).utf8))
        return String(hex.prefix(32))
    }
}

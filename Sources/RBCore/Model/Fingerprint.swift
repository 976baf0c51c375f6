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

    /// What `--compare` checks besides status and severity to call a finding `updated`: the
    /// evidence's snippet and facts, without the facts that describe the finding's surroundings
    /// (`Evidence.contextFacts`: how many boot commands were read, where a service was started).
    /// Never the message: messages are wording and carry incidental details (a line number, a
    /// count of other things). `sha256(snippet NUL name=value NUL ...)`, first 16 hex digits.
    public static func evidenceState(_ evidence: Evidence) -> String {
        var parts = [evidence.snippet ?? ""]
        for (name, value) in evidence.facts.sorted(by: { $0.key < $1.key }) where !Evidence.contextFacts.contains(name) {
            parts.append(name + "=" + value)
        }
        return String(Digest.sha256Hex(Array(parts.joined(separator: "\u{0}").utf8)).prefix(16))
    }
}

import RBCore

/// What is wrong with a `WWW-Authenticate` challenge sent over a cleartext transport (HTTP or
/// RTSP): Basic fails at the rule's severity; Digest without SHA-256 is low; anything else is
/// acceptable (nil).
enum AuthChallenge {
    enum Weakness {
        case basic, digestMD5
        var severity: Severity? { self == .basic ? nil : .low }
    }

    static func weakness(_ challenge: String) -> Weakness? {
        switch challenge.split(separator: " ").first?.lowercased() {
        case "basic"?: .basic
        case "digest"? where !challenge.lowercased().contains("algorithm=sha-256"): .digestMD5
        default: nil
        }
    }
}

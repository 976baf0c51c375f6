/// The one masking pass every finding goes through before any reporter sees it: secrets that
/// rules quote as part of what they found (a command line, a URL, a config line) are masked in
/// the message, the evidence excerpt and the facts, whatever the rule.
///
/// Masked: URL userinfo passwords (`https://user:PASS@host`), command-line options naming a
/// password, secret, token or key (`--http-password=PASS`, `--password PASS`, `-pPASS` after
/// mysql-style clients), and `password=VALUE`-style assignments. The mask keeps the first and last
/// characters of long values only (`Mask.secret`).
public enum SecretScrubber {
    /// Words that make an option or an assignment name a secret.
    static let secretWords = "pass(?:word|wd)?|pwd|secret|token|api[-_]?key|auth[-_]?key|credentials?"

    nonisolated(unsafe) static let userinfo = try! Regex(#"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@'"]+):([^/\s@'"]+)@"#)
    nonisolated(unsafe) static let option = try! Regex(#"(--?[A-Za-z0-9\-]*(?:"# + secretWords + #")[A-Za-z0-9\-]*)(=|\s+)("[^"]*"|'[^']*'|[^\s"';&|]+)"#)
        .ignoresCase()
    nonisolated(unsafe) static let assignment = try! Regex(#"\b([A-Za-z0-9_.\-]*(?:"# + secretWords + #")[A-Za-z0-9_.\-]*)(\s*=\s*)("[^"]*"|'[^']*'|[^\s"';&|]+)"#)
        .ignoresCase()
    /// mysql, mysqldump, mysqladmin: `-pPASS` (a password glued to the option).
    nonisolated(unsafe) static let mysqlPassword = try! Regex(#"(\bmysql[a-z]*\b[^\n;&|]*?\s-p)([^\s"';&|]+)"#)

    /// `text` with every secret these patterns recognise masked.
    public static func scrub(_ text: String) -> String {
        guard text.contains(where: { $0 == "@" || $0 == "=" || $0 == "-" }) else { return text }
        var out = text
        out = out.replacing(userinfo) { match in
            "\(match.output[1].substring ?? ""):\(Mask.secret(String(match.output[2].substring ?? "")))@"
        }
        for pattern in [option, assignment] {
            out = out.replacing(pattern) { match in
                let value = String(match.output[3].substring ?? "")
                // An option that takes no value (`--password-file /x`, `--no-auth`) or a masked one.
                if value.hasPrefix("-") || value.hasPrefix("/") || value.hasPrefix("$") || value.contains("*") { return String(match.output[0].substring ?? "") }
                return "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(Mask.secret(value))"
            }
        }
        out = out.replacing(mysqlPassword) { match in
            "\(match.output[1].substring ?? "")\(Mask.secret(String(match.output[2].substring ?? "")))"
        }
        return out
    }

    /// The finding with its message, excerpt and facts scrubbed.
    public static func scrub(_ finding: Finding) -> Finding {
        var finding = finding
        finding.message = scrub(finding.message)
        finding.evidence.snippet = finding.evidence.snippet.map(scrub)
        finding.evidence.facts = finding.evidence.facts.mapValues(scrub)
        return finding
    }
}

/// Masks secrets for output: a key, a password or a token is never printed whole.
public enum Mask {
    /// Eight asterisks whatever the value: neither a character nor the length is shown. A token
    /// format's published prefix stays, since it says what leaked (`AKIAIOSFODNN7EXAMPLE` →
    /// `AKIA********`).
    public static func secret(_ value: String) -> String {
        guard !value.isEmpty else { return "" }
        if let prefix = tokenPrefixes.first(where: { value.hasPrefix($0) }), value.count >= prefix.count + 8 {
            return prefix + hidden
        }
        return hidden
    }

    static let hidden = "********"

    /// Fixed prefixes of token formats (AWS, Google, Aliyun, Tencent, GitHub, Slack, PEM).
    static let tokenPrefixes = ["AKIA", "ASIA", "AIza", "LTAI", "AKID", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                                "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "-----BEGIN"]

    /// Replaces `range` of `text` by its masked form.
    public static func secret(in text: String, range: Range<String.Index>) -> String {
        text.replacingCharacters(in: range, with: secret(String(text[range])))
    }
}

/// Short, printable excerpts for evidence.
public enum Snippet {
    public static let maxLength = 200

    /// Trims whitespace, replaces control characters and cuts long lines with an ellipsis.
    public static func make(_ line: some StringProtocol) -> String {
        var out = ""
        for ch in line.trimmingWhitespace() {
            if out.count >= maxLength { out += "…"; break }
            if ch == "\t" { out.append(" "); continue }
            out.append(ch.isASCII && (ch.asciiValue! < 0x20 || ch.asciiValue! == 0x7f) ? "?" : ch)
        }
        return out
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs, CR and LF (no Foundation needed).
    public func trimmingWhitespace() -> Substring {
        let ws: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !ws($0) }) else { return Substring() }
        let last = lastIndex(where: { !ws($0) })!
        return Substring(self[first...last])
    }
}

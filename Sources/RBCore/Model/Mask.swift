/// Masks secrets for output: a key, a password or a token is never printed whole.
public enum Mask {
    /// `AKIAIOSFODNN7EXAMPLE` → `AKIA************LE`; short values keep at most one character.
    public static func secret(_ value: String) -> String {
        let chars = Array(value)
        switch chars.count {
        case 0: return ""
        case 1...5: return String(repeating: "*", count: chars.count)
        case 6...11: return String(chars[0]) + String(repeating: "*", count: chars.count - 1)
        default:
            return String(chars[0..<4]) + String(repeating: "*", count: min(chars.count - 6, 16))
                + String(chars[(chars.count - 2)...])
        }
    }

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

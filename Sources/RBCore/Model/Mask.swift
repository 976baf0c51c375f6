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
    /// Works on the UTF-8 bytes: a CRLF pair is one `Character`, which a per-character test for
    /// CR or LF does not see, and a byte walk does not decode graphemes.
    public func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        let bytes = text.utf8
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, TextBytes.isWhitespace(bytes[start]) { start = bytes.index(after: start) }
        while start < end {
            let before = bytes.index(before: end)
            guard TextBytes.isWhitespace(bytes[before]) else { break }
            end = before
        }
        return text[start..<end]
    }

    /// The lines of the text, split at LF bytes, with a CR before the LF removed. Swift's
    /// `split(separator: "\n")` compares `Character`s, and CRLF is one `Character`: it would
    /// make one line of a whole CRLF file (configs saved on Windows, vendor exports).
    /// `omittingEmpty` leaves out lines that are empty once the CR is removed.
    public func splitLines(omittingEmpty: Bool = false) -> [Substring] {
        let text = Substring(self)
        let bytes = text.utf8
        var lines: [Substring] = []
        var start = bytes.startIndex
        var index = start
        func add(_ end: String.Index) {
            var last = end
            if start < last {
                let before = bytes.index(before: last)
                if bytes[before] == 13 { last = before }
            }
            if !omittingEmpty || start < last { lines.append(text[start..<last]) }
        }
        while index < bytes.endIndex {
            if bytes[index] == 10 {
                add(index)
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        add(bytes.endIndex)
        return lines
    }
}

/// Byte classes of text parsing.
private enum TextBytes {
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }
}

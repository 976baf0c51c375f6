/// Base64 with the standard alphabet (RFC 4648 §4), without Foundation: the one encoder and
/// decoder of rbscan (HTTP Basic and WS-Security headers, htpasswd `{SHA}`, PEM bodies,
/// signature files, stored-secret classification, rule example files, plugin messages).
public enum Base64 {
    /// How much a decoder forgives. Every mode accepts the empty text (no bytes) and rejects a
    /// character outside the alphabet that it does not skip.
    public enum Decoding: Sendable {
        /// RFC 4648 as written: whole 4-character groups, `=` only as the last one or two
        /// characters of the text, nothing else. (PEM bodies once their lines are joined,
        /// base64-looking passwords.)
        case strict
        /// `strict` once ASCII white space (space, tab, CR, LF) is removed: text wrapped in
        /// lines (detached signature files, usign key files).
        case ignoringWhitespace
        /// White space and `=` skipped wherever they are, so missing padding is fine; only a
        /// dangling single character (6 bits, no byte) is an error. Hand-written rule example
        /// files.
        case lenient
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `bytes` as padded Base64.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i < input.count {
            let b0 = input[i], b1 = i + 1 < input.count ? input[i + 1] : 0, b2 = i + 2 < input.count ? input[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < input.count ? alphabet[Int((b1 & 0xf) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < input.count ? alphabet[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String, _ mode: Decoding = .strict) -> [UInt8]? {
        decode(Array(text.utf8), mode)
    }

    /// The bytes `text` encodes, or nil when it is not Base64 under `mode`.
    public static func decode(_ text: some Collection<UInt8>, _ mode: Decoding = .strict) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.count)
        var padding = 0
        for byte in text {
            if let value = value(byte) {
                // Strict: nothing may follow padding.
                if padding > 0 && mode != .lenient { return nil }
                values.append(value)
                continue
            }
            switch byte {
            case UInt8(ascii: "="):
                padding += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                guard mode != .strict else { return nil }
            default:
                return nil
            }
        }
        switch mode {
        case .strict, .ignoringWhitespace:
            // Whole groups; padding only fills the last one ("xx==", "xxx=").
            guard (values.count + padding) % 4 == 0, padding <= 2, padding == 0 || values.count % 4 == 4 - padding else { return nil }
        case .lenient:
            guard values.count % 4 != 1 else { return nil }
        }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var i = 0
        while i + 1 < values.count {
            let a = values[i], b = values[i + 1]
            out.append(a << 2 | b >> 4)
            if i + 2 < values.count { out.append((b & 0xf) << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append((values[i + 2] & 0x3) << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }

    /// The 6-bit value of an alphabet character.
    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}

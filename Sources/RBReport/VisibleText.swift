/// Control characters from a scanned image (file names, quoted lines) made visible, so that a
/// hostile image cannot drive the terminal that shows a text or Markdown report (set its title,
/// clear the screen, move the cursor): ESC becomes `\e`, CR `\r`, LF `\n`, other C0 and C1
/// controls and DEL `\xNN`. Tabs stay.
enum VisibleText {
    static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else { out.unicodeScalars.append(scalar); continue }
            switch scalar.value {
            case 0x1b: out += "\\e"
            case 0x0d: out += "\\r"
            case 0x0a: out += "\\n"
            default: out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            }
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value < 0x20 && value != 0x09) || value == 0x7f || (0x80...0x9f).contains(value)
    }
}

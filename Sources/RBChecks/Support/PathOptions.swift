import RBCore

/// Compiles the `paths:` / `exclude:` patterns of a check's options.
enum PathPatterns {
    static func compile(_ patterns: [String], key: String) throws(CheckOptionError) -> [Glob] {
        var globs: [Glob] = []
        for pattern in patterns {
            do {
                globs.append(try Glob(pattern))
            } catch {
                throw CheckOptionError(key: key, error.description)
            }
        }
        return globs
    }
}

/// Message templates: `{path}`, `{line}`, `{value}`, `{key}`, `{match}`, `{1}`…, `{count}`,
/// `{mode}`, `{uid}`, `{expected}` are replaced; anything else stays as written.
enum Template {
    static func render(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var i = template.startIndex
        while i < template.endIndex {
            if template[i] == "{", let close = template[i...].firstIndex(of: "}") {
                let name = String(template[template.index(after: i)..<close])
                if let value = values[name] {
                    out += value
                    i = template.index(after: close)
                    continue
                }
            }
            out.append(template[i])
            i = template.index(after: i)
        }
        return out
    }
}

/// Text split into lines with comments blanked out, keeping line numbers and offsets.
struct TextLines {
    /// Original lines (without the newline).
    let lines: [Substring]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
    }

    /// `line` with everything from a comment marker on removed. A marker counts at the start of
    /// the line or after white space, and not inside single or double quotes.
    static func stripComment(_ line: Substring, markers: [String]) -> Substring {
        guard !markers.isEmpty else { return line }
        var quote: Character?
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let ch = line[index]
            if let q = quote {
                if ch == q { quote = nil }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if previous == " " || previous == "\t" || index == line.startIndex {
                for marker in markers where line[index...].hasPrefix(marker) {
                    return line[..<index]
                }
            }
            previous = ch
            index = line.index(after: index)
        }
        return line
    }
}

/// Maps UTF-16 offsets (what Foundation's regex reports) to 1-based line numbers.
struct LineIndex {
    private var starts: [Int] = [0]

    init(_ text: String) {
        var offset = 0
        for unit in text.utf16 {
            offset += 1
            if unit == 10 { starts.append(offset) }
        }
    }

    func line(atUTF16Offset offset: Int) -> Int {
        var low = 0, high = starts.count
        while low < high {
            let mid = (low + high) / 2
            if starts[mid] <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

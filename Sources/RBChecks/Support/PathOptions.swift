#if canImport(Glibc)
import Glibc
#endif
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
        lines = text.splitLines()
    }

    /// `line` with everything from a comment marker on removed. A marker counts at the start of
    /// the line or after white space, and not inside single or double quotes. Walks the UTF-8
    /// bytes (quotes, blanks and markers are matched as bytes; no grapheme decoding).
    static func stripComment(_ line: Substring, markers: [String]) -> Substring {
        guard !markers.isEmpty else { return line }
        let bytes = line.utf8
        var quote: UInt8 = 0
        var previous: UInt8 = 32
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if quote != 0 {
                if byte == quote { quote = 0 }
            } else if byte == 34 || byte == 39 {
                quote = byte
            } else if previous == 32 || previous == 9 {
                for marker in markers where marker.utf8.first == byte && bytes[index...].starts(with: marker.utf8) {
                    return line[..<index]
                }
            }
            previous = byte
            index = bytes.index(after: index)
        }
        return line
    }
}

/// Maps byte offsets to 1-based line numbers and back to line text.
struct LineIndex {
    /// Offset of the first byte of each line.
    private var starts: [Int] = [0]

    init(_ bytes: [UInt8]) {
        for (i, byte) in bytes.enumerated() where byte == 10 { starts.append(i + 1) }
    }

    func line(atOffset offset: Int) -> Int {
        var low = 0, high = starts.count
        while low < high {
            let mid = (low + high) / 2
            if starts[mid] <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The offset of the first byte of 1-based `line`.
    func offset(ofLine line: Int) -> Int { starts[line - 1] }

    /// The text of 1-based `line` (without its newline or carriage return).
    func text(ofLine line: Int, in bytes: [UInt8]) -> String {
        let from = starts[line - 1]
        var to = line < starts.count ? starts[line] - 1 : bytes.count
        if to > from, bytes[to - 1] == 13 { to -= 1 }
        return String(decoding: bytes[from..<max(from, to)], as: UTF8.self)
    }
}

/// Blanks comments in place (with spaces, keeping every offset): a marker counts at the start of
/// a line or after a blank, outside single and double quotes, and runs to the end of the line.
///
/// Speed matters here (every text file of an image goes through it): `memchr` jumps from one
/// marker byte to the next, and only the part of a line before a marker is inspected for quotes.
enum CommentBlanker {
    static func blank(_ bytes: inout [UInt8], markers: [[UInt8]]) {
        let firsts = Array(Set(markers.compactMap(\.first)))
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let count = buffer.count
            for first in firsts {
                var position = 0
                while position < count, let raw = memchr(base + position, Int32(first), count - position) {
                    let hit = raw.assumingMemoryBound(to: UInt8.self) - base
                    position = hit + 1
                    guard markers.contains(where: { marker in
                        marker.first == first && hit + marker.count <= count
                            && (0..<marker.count).allSatisfy { base[hit + $0] == marker[$0] }
                    }) else { continue }
                    var lineStart = hit
                    while lineStart > 0, base[lineStart - 1] != 10 { lineStart -= 1 }
                    if hit > lineStart, base[hit - 1] != 32, base[hit - 1] != 9 { continue }
                    var quote: UInt8 = 0
                    for i in lineStart..<hit {
                        let byte = base[i]
                        if quote != 0 {
                            if byte == quote { quote = 0 }
                        } else if byte == 34 || byte == 39 {
                            quote = byte
                        }
                    }
                    if quote != 0 { continue }
                    var end = hit
                    while end < count, base[end] != 10 {
                        if base[end] != 13 { base[end] = 32 }
                        end += 1
                    }
                    position = end
                }
            }
        }
    }
}

/// OpenWrt's UCI configuration files (`/etc/config/<package>`): sections of a type with an optional
/// name, holding options and lists. The syntax is the one `uci import` reads: `config TYPE
/// ['NAME']`, `option KEY 'VALUE'`, `list KEY 'VALUE'`, `#` comments, single or double quotes or
/// bare words (https://openwrt.org/docs/guide-user/base-system/uci, "File syntax").
struct UCIFile {
    struct Section {
        var type: String
        var name: String?
        /// The line of `config …`.
        var line: Int
        /// Options and lists in file order: a list's values each appear under its key.
        var values: [(key: String, value: String, line: Int)] = []

        /// The last value of `key` (an option set twice keeps the later one, as uci does).
        func option(_ key: String) -> (value: String, line: Int)? {
            values.last { $0.key == key }.map { ($0.value, $0.line) }
        }

        /// Every value of a list (or the option's one value).
        func list(_ key: String) -> [(value: String, line: Int)] {
            values.filter { $0.key == key }.map { ($0.value, $0.line) }
        }

        /// A UCI boolean (`1/0`, `on/off`, `true/false`, `yes/no`, `enabled/disabled`), or
        /// `default` when unset or unreadable.
        func bool(_ key: String, default value: Bool) -> Bool {
            guard let raw = option(key)?.value.lowercased() else { return value }
            if ["1", "on", "true", "yes", "enabled"].contains(raw) { return true }
            if ["0", "off", "false", "no", "disabled"].contains(raw) { return false }
            return value
        }
    }

    var sections: [Section] = []

    init(_ text: String) {
        var number = 0
        for raw in text.splitLines() {
            number += 1
            let words = UCIFile.words(raw)
            guard let keyword = words.first else { continue }
            switch keyword {
            case "config" where words.count >= 2:
                sections.append(Section(type: words[1], name: words.count >= 3 ? words[2] : nil, line: number))
            case "option", "list":
                guard words.count >= 2, !sections.isEmpty else { continue }
                sections[sections.count - 1].values.append((words[1], words.count >= 3 ? words[2] : "", number))
            default:
                continue
            }
        }
    }

    /// The sections of `type`, in file order.
    func sections(ofType type: String) -> [Section] { sections.filter { $0.type == type } }

    /// A line's words: quotes group (and are removed), `#` outside quotes starts a comment.
    static func words(_ line: Substring) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for ch in line {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
                continue
            }
            if ch == "'" || ch == "\"" { quote = ch; inWord = true; continue }
            if ch == "#" && !inWord { break }
            if ch == " " || ch == "\t" || ch == "\r" {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(ch)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }

    enum Lookup {
        case value(String, line: Int)
        /// The section exists and lacks the option (the line of its `config`).
        case sectionWithout(line: Int)
        case none
    }

    /// `PACKAGE.SECTION.OPTION` (`uci get` syntax) in this file: PACKAGE is the file's name (or
    /// `*`), SECTION a name, `@TYPE[N]` or `@TYPE` (the first of that type setting the option).
    func lookup(_ spec: String, file: String) -> Lookup {
        let parts = spec.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return .none }
        let base = file.split(separator: "/").last.map(String.init) ?? file
        guard parts[0] == "*" || parts[0] == base else { return .none }
        var candidates: [Section]
        if parts[1].hasPrefix("@") {
            var type = String(parts[1].dropFirst())
            var index: Int?
            if let open = type.firstIndex(of: "["), type.hasSuffix("]") {
                index = Int(type[type.index(after: open)..<type.index(before: type.endIndex)])
                type = String(type[..<open])
            }
            candidates = sections(ofType: type)
            if let index {
                let position = index < 0 ? candidates.count + index : index
                candidates = candidates.indices.contains(position) ? [candidates[position]] : []
            }
        } else {
            candidates = sections.filter { $0.name == parts[1] }
        }
        for section in candidates {
            let values = section.list(parts[2])
            if let last = values.last {
                return .value(values.count > 1 ? values.map(\.value).joined(separator: " ") : last.value, line: values[0].line)
            }
        }
        return candidates.first.map { .sectionWithout(line: $0.line) } ?? .none
    }
}

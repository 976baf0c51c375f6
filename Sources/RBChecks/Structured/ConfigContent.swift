/// Judges a file named like a structured config (`*.xml`, `*.json`) by its content: vendors ship
/// encrypted or binary blobs under such names (Huawei's encrypted `defaultcfg.xml`, TP-Link's
/// config backups). Such a file is not a malformed config (a check that failed) but not a
/// config at all: an informational notice naming it, and the scan is not partial because of it.
/// A file that starts like the format and then breaks is still a parse error.
import RBCore

enum ConfigContent {
    /// Whether a structured config of `size` bytes may be parsed; when it is over the limit, a
    /// `check.limit` diagnostic says that it was not checked.
    static func withinLimit(_ entry: FileEntry, size: Int, format: String, context: CheckContext) -> Bool {
        guard size > context.limits.maxConfigBytes else { return true }
        context.report("\(entry.path) is \(size) bytes, over the \(context.limits.maxConfigBytes)-byte limit for parsing \(format) configs (--max-config-size): not checked",
                       path: entry.path, code: "check.limit")
        return false
    }

    /// Whether a file is parsed as a document by its name (XML, JSON, YAML).
    static func isDocument(_ path: String) -> Bool {
        let lower = path.lowercased()
        return [".xml", ".json", ".yaml", ".yml"].contains(where: { lower.hasSuffix($0) })
    }

    /// Whether a config file read as `text` is to be parsed: a structured one (XML, JSON, YAML
    /// by name) over the size limit is reported (`withinLimit`), and a `.xml`/`.json` whose
    /// content is not that format at all is a `check.not-a-config` notice.
    static func admits(_ file: FileEntry, text: String, context: CheckContext) -> Bool {
        if isDocument(file.path),
           !withinLimit(file, size: text.utf8.count, format: "structured", context: context) { return false }
        if let reason = notStructured(file, Array(text.utf8)) {
            context.note("\(file.path) is not \(reason); not checked as a config", path: file.path, code: "check.not-a-config")
            return false
        }
        return true
    }

    /// For a file named `.xml` or `.json`: why its content is not that format ("XML (text that
    /// does not start like XML)"), or nil when it is, or the name says neither.
    static func notStructured(_ entry: FileEntry, _ bytes: [UInt8]) -> String? {
        let lower = entry.path.lowercased()
        if lower.hasSuffix(".xml"), let reason = notXML(bytes) { return "XML (\(reason))" }
        if lower.hasSuffix(".json"), let reason = notJSON(bytes) { return "JSON (\(reason))" }
        return nil
    }

    /// Why `bytes` cannot be XML, or nil when it starts like XML (possibly after a BOM and
    /// white space; UTF-16 is left to the parser).
    static func notXML(_ bytes: [UInt8]) -> String? {
        if let reason = notFormat(bytes, starts: [UInt8(ascii: "<")], name: "XML") { return reason }
        return firstElement(bytes)?.lowercased() == "html" ? "an HTML page" : nil
    }

    /// The name of the first element, after the XML declaration, processing instructions,
    /// comments and a DOCTYPE (within the first 8 KiB): web servers' page templates named
    /// `.xml` (RomPager's `<!-- RpPageHeader … --><HTML>`) are pages, not configurations.
    static func firstElement(_ bytes: [UInt8]) -> String? {
        let head = Array(bytes.prefix(8192))
        func find(_ needle: String, from: Int) -> Int? {
            from <= head.count ? ByteSearch.firstIndex(of: Array(needle.utf8), in: head, range: from..<head.count) : nil
        }
        var i = 0
        while i < head.count {
            if [0x20, 0x09, 0x0a, 0x0d, 0xef, 0xbb, 0xbf].contains(head[i]) { i += 1; continue }
            guard head[i] == UInt8(ascii: "<"), i + 1 < head.count else { return nil }
            if head[i + 1] == UInt8(ascii: "?") {
                guard let end = find("?>", from: i) else { return nil }
                i = end + 2
            } else if find("<!--", from: i) == i {
                guard let end = find("-->", from: i + 4) else { return nil }
                i = end + 3
            } else if head[i + 1] == UInt8(ascii: "!") {
                guard let end = head[i...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
                i = end + 1
            } else {
                let name = head[(i + 1)...].prefix { $0 > 0x20 && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "/") }
                return String(decoding: name, as: UTF8.self)
            }
        }
        return nil
    }

    /// Why `bytes` cannot be a JSON config (an object or an array), or nil.
    static func notJSON(_ bytes: [UInt8]) -> String? {
        notFormat(bytes, starts: [UInt8(ascii: "{"), UInt8(ascii: "[")], name: "JSON")
    }

    private static func notFormat(_ bytes: [UInt8], starts: [UInt8], name: String) -> String? {
        if bytes.starts(with: [0xfe, 0xff]) || bytes.starts(with: [0xff, 0xfe]) { return nil }   // UTF-16: the parser decides
        var i = bytes.starts(with: [0xef, 0xbb, 0xbf]) ? 3 : 0
        while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
        if i == bytes.count { return "empty" }
        if starts.contains(bytes[i]) { return nil }
        return isBinary(bytes) ? "binary content, likely encrypted or compressed" : "text that does not start like \(name)"
    }

    /// NUL bytes, or not UTF-8, in the first 8 KiB.
    static func isBinary(_ bytes: [UInt8]) -> Bool {
        if ByteScan.hasNUL(bytes, within: 8192) { return true }
        let head = bytes.prefix(8192)
        // A multi-byte sequence cut at the 8 KiB boundary is not evidence of binary content.
        var decoder = UTF8()
        var iterator = head.dropLast(min(3, head.count)).makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return false
            case .error: return true
            }
        }
    }
}

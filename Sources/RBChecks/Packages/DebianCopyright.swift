import RBCore

/// The licences a Debian `copyright` file declares.
///
/// A machine-readable file (DEP-5, "Machine-readable debian/copyright file", the `Format:` line
/// naming `copyright-format/1.0`) gives a short name on every `License:` field, possibly joined
/// with `or`/`and` and an exception (`GPL-3+ with Bison exception`). An older free-form file
/// points at the full texts Debian ships in `/usr/share/common-licenses/` (`GPL-2`,
/// `LGPL-2.1`). Short names map onto SPDX identifiers where DEP-5 defines the same licence;
/// the others are kept as the file writes them.
enum DebianCopyright {
    static func licenses(_ text: String) -> [String] { licenses(Array(text.utf8)) }

    /// Read as bytes: copyright files run to hundreds of kilobytes (Perl's, GCC's) and only their
    /// `License:` lines, or the common-licenses paths, matter.
    static func licenses(_ bytes: [UInt8]) -> [String] {
        var found = Set<String>()
        let format = Array("Format:".utf8), field: [UInt8] = Array("License:".utf8), directory = Array("/usr/share/common-licenses/".utf8)
        func starts(_ prefix: [UInt8], at i: Int) -> Bool {
            i + prefix.count <= bytes.count && bytes[i..<(i + prefix.count)].elementsEqual(prefix)
        }
        var first = 0
        while first < bytes.count, bytes[first] == 0x0a || bytes[first] == 0x20 || bytes[first] == 0x0d { first += 1 }
        let firstEnd = bytes[first...].firstIndex(of: 0x0a) ?? bytes.count
        let machineReadable = starts(format, at: first)
            && String(decoding: bytes[first..<firstEnd], as: UTF8.self).contains("copyright-format")
        if machineReadable {
            // Each field line: a newline, then `License:` (the Format: line comes first).
            let lineField = [0x0a] + field
            var i = firstEnd
            while let at = ByteSearch.firstIndex(of: lineField, in: bytes, range: i..<bytes.count) {
                let start = at + lineField.count
                let end = ByteSearch.firstIndex(of: [0x0a], in: bytes, range: start..<bytes.count) ?? bytes.count
                for name in names(Substring(String(decoding: bytes[start..<end], as: UTF8.self))) { found.insert(spdx(name)) }
                i = end
            }
        } else {
            var i = 0
            while let at = ByteSearch.firstIndex(of: directory, in: bytes, range: i..<bytes.count) {
                var end = at + directory.count
                while end < bytes.count, Self.nameByte(bytes[end]) { end += 1 }
                var name = Substring(String(decoding: bytes[(at + directory.count)..<end], as: UTF8.self))
                while name.hasSuffix(".") { name = name.dropLast() }
                if !name.isEmpty { found.insert(spdx(name)) }
                i = end
            }
        }
        return found.sorted()
    }

    /// Bytes of a licence file name (`GPL-2`, `LGPL-2.1`, `Apache-2.0`).
    static func nameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x2d || byte == 0x2e || byte == 0x5f || byte == 0x2b
    }

    /// The licence names of one `License:` field value: `GPL-1+ or Artistic` → both; an
    /// exception stays with its licence (`GPL-3+ with Bison exception`).
    static func names(_ value: Substring) -> [Substring] {
        var names: [Substring] = []
        var current: [Substring] = []
        func flush() {
            let name = current.joined(separator: " ").trimmingCharacters(in: " ,()")
            if !name.isEmpty { names.append(Substring(name)) }
            current = []
        }
        for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
            if word == "or" || word == "and" { flush() } else { current.append(word) }
        }
        flush()
        return names
    }

    /// The SPDX identifier of a DEP-5 short name (`GPL-2+` → `GPL-2.0-or-later`), else the name.
    static func spdx(_ name: Substring) -> String {
        let orLater = name.hasSuffix("+")
        let base = orLater ? name.dropLast() : name
        if let family = Component.debianLicenceStems[base.lowercased()] { return family + (orLater ? "-or-later" : "-only") }
        return Component.debianLicenceNames[name.lowercased()] ?? String(name)
    }
}

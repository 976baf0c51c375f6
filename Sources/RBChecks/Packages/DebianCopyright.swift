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
        if let family = versioned[base.lowercased()] { return family + (orLater ? "-or-later" : "-only") }
        return plain[name.lowercased()] ?? String(name)
    }

    /// Versioned GNU licences: DEP-5 name without `+` → SPDX stem.
    static let versioned: [String: String] = [
        "gpl-1": "GPL-1.0", "gpl-2": "GPL-2.0", "gpl-3": "GPL-3.0", "gplv2": "GPL-2.0", "gplv3": "GPL-3.0",
        "lgpl-2": "LGPL-2.0", "lgpl-2.1": "LGPL-2.1", "lgpl-3": "LGPL-3.0", "lgplv2.1": "LGPL-2.1", "lgplv3": "LGPL-3.0",
        "agpl-3": "AGPL-3.0", "gfdl-1.2": "GFDL-1.2", "gfdl-1.3": "GFDL-1.3",
    ]

    /// Other DEP-5 short names with an SPDX twin.
    static let plain: [String: String] = [
        "expat": "MIT", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
        "isc": "ISC", "zlib": "Zlib", "apache-2": "Apache-2.0", "apache-2.0": "Apache-2.0", "cc0-1.0": "CC0-1.0", "x11": "X11",
        "fsfullr": "FSFULLR", "fsfap": "FSFAP", "fsful": "FSFUL", "artistic": "Artistic-1.0-Perl", "artistic-2.0": "Artistic-2.0",
        "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "openssl": "OpenSSL", "python-2.0": "Python-2.0",
        "beerware": "Beerware", "latex2e": "Latex2e", "curl": "curl",
    ]
}

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
    static func licenses(_ text: String) -> [String] {
        var found = Set<String>()
        let lines = text.splitLines()
        let machineReadable = lines.first { !$0.isEmpty }.map { $0.hasPrefix("Format:") && $0.contains("copyright-format") } ?? false
        if machineReadable {
            for line in lines where line.hasPrefix("License:") {
                for name in names(line.dropFirst(8)) { found.insert(spdx(name)) }
            }
        } else {
            for line in lines {
                var rest = Substring(line)
                while let range = rest.range(of: "/usr/share/common-licenses/") {
                    let name = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber || "-._+".contains($0) }
                    let trimmed = name.hasSuffix(".") ? name.dropLast() : name
                    if !trimmed.isEmpty { found.insert(spdx(trimmed)) }
                    rest = rest[range.upperBound...]
                }
            }
        }
        return found.sorted()
    }

    /// The licence names of one `License:` field value: `GPL-1+ or Artistic` → both; an
    /// exception stays with its licence.
    static func names(_ value: Substring) -> [Substring] {
        var names: [Substring] = []
        for part in value.trimmingWhitespace().split(separator: " or ") {
            for name in part.split(separator: " and ") {
                let trimmed = name.trimmingCharacters(in: " ,()")
                if !trimmed.isEmpty { names.append(Substring(trimmed)) }
            }
        }
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

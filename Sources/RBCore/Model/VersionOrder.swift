/// Orders version strings the way the systems that publish them do, for matching components
/// against vulnerability ranges.
public enum VersionOrder: Sendable {
    /// Debian's (dpkg's `verrevcmp` over epoch, upstream and revision); opkg orders the same way.
    case debian
    /// Upstream release versions: runs of digits compare as numbers, letters after a number
    /// sort later (`1.0.2k` > `1.0.2`, `9.2p1` > `9.2`), and pre-release words (`-rc1`, `beta`,
    /// `~pre`) sort before the release. Tag spellings are normalised (`OpenSSL_1_1_1k`,
    /// `v1.36.1`, `openssl-3.0.0`).
    case upstream
    /// Semantic versioning: as upstream, with `-prerelease` before the release and `+build`
    /// ignored.
    case semver

    /// The order an OSV ecosystem's versions follow.
    public static func forEcosystem(_ ecosystem: String) -> VersionOrder {
        let base = ecosystem.split(separator: ":").first.map { $0.lowercased() } ?? ""
        return ["debian", "ubuntu", "openwrt"].contains(base) ? .debian : .upstream
    }

    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    public func compare(_ a: String, _ b: String) -> Int {
        switch self {
        case .debian: return Self.debianCompare(a, b)
        case .upstream: return Self.revisionCompare(Array(Self.normalise(a).utf8), Array(Self.normalise(b).utf8))
        case .semver:
            func core(_ v: String) -> String { String(v.split(separator: "+", maxSplits: 1).first ?? "") }
            return Self.revisionCompare(Array(Self.normalise(core(a)).utf8), Array(Self.normalise(core(b)).utf8))
        }
    }

    /// An upstream version or tag in a form dpkg's comparison orders correctly: lower case, the
    /// leading name or `v` of a tag dropped, `_` as `.`, pre-release words behind `~`.
    public static func normalise(_ version: String) -> String {
        var text = Substring(version.lowercased())
        // A tag's name part: letters (and separators) before the first digit.
        if let firstDigit = text.firstIndex(where: \.isNumber),
           text[..<firstDigit].allSatisfy({ $0.isLetter || $0 == "-" || $0 == "_" || $0 == "." }) {
            text = text[firstDigit...]
        }
        var out = ""
        out.reserveCapacity(text.count + 2)
        var chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "_" { chars[i] = "." }
            // A pre-release word, directly after a digit or a separator: `-rc1`, `.beta2`, `rc1`.
            if c.isLetter, i == 0 || !chars[i - 1].isLetter {
                var j = i
                while j < chars.count, chars[j].isLetter { j += 1 }
                let word = String(chars[i..<j])
                if ["alpha", "beta", "rc", "pre", "dev", "preview"].contains(word) {
                    if let last = out.last, last == "-" || last == "." || last == "~" { out.removeLast() }
                    out += "~" + word
                    i = j
                    continue
                }
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    /// dpkg's comparison of full Debian versions `[epoch:]upstream[-revision]`.
    public static func debianCompare(_ a: String, _ b: String) -> Int {
        let (ea, ua, ra) = split(a), (eb, ub, rb) = split(b)
        if ea != eb { return ea < eb ? -1 : 1 }
        let upstream = revisionCompare(Array(ua.utf8), Array(ub.utf8))
        if upstream != 0 { return upstream }
        return revisionCompare(Array(ra.utf8), Array(rb.utf8))
    }

    static func split(_ version: String) -> (Int, Substring, Substring) {
        var rest = Substring(version.trimmingWhitespace())
        var epoch = 0
        if let colon = rest.firstIndex(of: ":"), let value = Int(rest[..<colon]) {
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        if let dash = rest.lastIndex(of: "-") {
            return (epoch, rest[..<dash], rest[rest.index(after: dash)...])
        }
        return (epoch, rest, "")
    }

    /// dpkg's `verrevcmp`: alternating non-digit and digit runs; `~` sorts before everything,
    /// even the end of the string; letters before other characters.
    static func revisionCompare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a }
        func order(_ c: UInt8?) -> Int {
            guard let c else { return 0 }
            if isDigit(c) { return 0 }
            if isAlpha(c) { return Int(c) }
            if c == 0x7e { return -1 }
            return Int(c) + 256
        }
        var i = 0, j = 0
        while i < a.count || j < b.count {
            var firstDifference = 0
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ac = order(i < a.count ? a[i] : nil), bc = order(j < b.count ? b[j] : nil)
                if ac != bc { return ac - bc }
                i += 1; j += 1
            }
            while i < a.count, a[i] == 0x30 { i += 1 }
            while j < b.count, b[j] == 0x30 { j += 1 }
            while i < a.count, j < b.count, isDigit(a[i]), isDigit(b[j]) {
                if firstDifference == 0 { firstDifference = Int(a[i]) - Int(b[j]) }
                i += 1; j += 1
            }
            if i < a.count, isDigit(a[i]) { return 1 }
            if j < b.count, isDigit(b[j]) { return -1 }
            if firstDifference != 0 { return firstDifference }
        }
        return 0
    }
}

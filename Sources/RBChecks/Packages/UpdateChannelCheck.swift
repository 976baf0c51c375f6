import RBCore

/// `update.channels`: where firmware updates are fetched from (RB-PKG-002). Update URLs are the
/// URLs next to an update word (`update`, `upgrade`, `firmware`, `fw_`, `ota`): on the same line
/// of a config or script, within 64 bytes in a program's strings, and every URL of a fetch command (`wget`, `curl`,
/// `tftp`, `ftpget`) in a script that writes flash or whose name says upgrade. A cleartext scheme
/// (`http`, `ftp`, `tftp`) fails; an `https` fetch that switches certificate checks off on the
/// same line (`curl -k`, `wget --no-check-certificate`) fails too. Loopback hosts are left out.
public struct UpdateChannelCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
    }

    public static let id = "update.channels"
    public static let summary = "Finds firmware update URLs that use cleartext or unverified transport."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    static let url = try? Regex(#"\b(https?|ftp|tftp)://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\])(:\d+)?[^\s"'<>`;|)]*"#)
    static let updateWord = try? Regex(#"(?i)update|upgrade|firmware|fw_|\bota\b"#)
    static let fetch = try? Regex(#"(^|[\s;|&(`])(wget|curl|tftp|ftpget)\b[^\n]*"#)
    static let insecure = try? Regex(#"\bcurl\b[^\n]*\s(-[a-zA-Z]*k[a-zA-Z]*|--insecure)(\s|$)|--no-check-certificate"#)
    static let upgradeScript = try? Regex(#"(^|[\s;|&(`])(mtd\s+(-\w+\s+)*write|flashcp|nandwrite|sysupgrade\s|ubiupdatevol)"#)

    let paths: [Glob]
    let exclude: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["etc/**", "{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/sbin,lib/upgrade}/**",
                                                           "opt/**", "mnt/**", "app/**", "home/**", "www/**", "**/cgi-bin/**",
                                                           "**/*.{conf,cfg,ini,json,xml}"], key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? ["usr/share/doc/**", "usr/share/man/**", "etc/ssl/**", "etc/apt/**"], key: "exclude")
    }

    public var costHint: Int { 20 }

    static let separator = Array("://".utf8)

    /// URL matches, the pattern run only around each `://` (binaries are mostly not URLs).
    static func urls(in bytes: [UInt8]) -> [Regex.Match] {
        guard let url else { return [] }
        var result: [Regex.Match] = []
        bytes.withUnsafeBufferPointer { buffer in
            var from = 0
            while result.count < 256, from < buffer.count,
                  let hit = ByteScan.find(separator, in: UnsafeBufferPointer(rebasing: buffer[from...])) {
                let at = from + hit
                let window = max(0, at - 5)..<min(buffer.count, at + 512)
                if let match = url.matches(in: bytes, within: window, limit: 1).first, match.range.upperBound > at {
                    result.append(match)
                    from = max(at + 3, match.range.upperBound)
                } else {
                    from = at + 3
                }
            }
        }
        return result
    }

    /// An update source found in a program: its address, scheme and host.
    struct ProgramURL: Sendable {
        var address: String
        var scheme: String
        var host: String
    }

    /// The cleartext update sources of a program's bytes: URLs within 64 bytes of an update word
    /// (what `run` judges in a binary), each address once.
    static func programURLs(in bytes: [UInt8]) -> [ProgramURL] {
        var found: [ProgramURL] = []
        var seen = Set<String>()
        for match in urls(in: bytes) {
            guard let schemeRange = match.groups.first ?? nil, let hostRange = match.groups.count > 1 ? match.groups[1] : nil else { continue }
            let scheme = String(decoding: bytes[schemeRange], as: UTF8.self)
            let host = String(decoding: bytes[hostRange], as: UTF8.self).lowercased()
            if host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || scheme == "https" { continue }
            let window = max(0, match.range.lowerBound - 64)..<min(bytes.count, match.range.upperBound + 64)
            guard updateWord?.hasMatch(in: Array(bytes[window])) ?? false else { continue }
            let address = String(decoding: bytes[match.range], as: UTF8.self)
            if seen.insert(address).inserted { found.append(ProgramURL(address: address, scheme: scheme, host: host)) }
        }
        return found
    }

    static let analysis = ContentAnalysis(id: "update.channels") { bytes in programURLs(in: bytes) }

    /// A URL of a text file that is an update source when the file is an upgrade script
    /// (`fetchedLine`: a fetch command on its line) or in any case (`near`: the value of a
    /// setting whose name says update), with what is wrong with it.
    struct TextURL: Sendable {
        var address: String
        var scheme: String
        var host: String
        var line: Int
        var lineText: String
        var problem: String
        var near: Bool
        var fetchedLine: Bool
    }

    /// What a text file's bytes say, before its name is known: whether the text reads like an
    /// upgrade script, and its URLs that may be update sources fetched insecurely.
    struct TextScan: Sendable {
        var upgradeScript: Bool
        var urls: [TextURL]

        static let nothing = TextScan(upgradeScript: false, urls: [])
    }

    static func textScan(_ bytes: [UInt8]) -> TextScan {
        let urls = Self.urls(in: bytes)
        guard !urls.isEmpty else { return .nothing }
        let lines = LineIndex(bytes)
        var found: [TextURL] = []
        for match in urls {
            guard let schemeRange = match.groups.first ?? nil, let hostRange = match.groups.count > 1 ? match.groups[1] : nil else { continue }
            let scheme = String(decoding: bytes[schemeRange], as: UTF8.self)
            let host = String(decoding: bytes[hostRange], as: UTF8.self).lowercased()
            if host == "localhost" || host.hasPrefix("127.") || host == "[::1]" { continue }
            let line = lines.line(atOffset: match.range.lowerBound)
            let lineText = lines.text(ofLine: line, in: bytes)
            // Near an update word: as the value of a setting whose name says update
            // (`update_server=`, `"fw_url": "`, `<UpdateURL>`), so that prose mentioning an
            // update ("updated … see http://…") does not count. (In a program, within 64
            // bytes: `programURLs`.)
            let before = Array(bytes[lines.offset(ofLine: line)..<match.range.lowerBound])
            let last = before.last(where: { $0 != 32 && $0 != 9 })
            let near = (Self.updateWord?.hasMatch(in: before) ?? false)
                && [UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: ">")].contains(last ?? 0)
            let fetchedLine = Self.fetch?.hasMatch(in: Array(lineText.utf8)) ?? false
            guard near || fetchedLine else { continue }
            let problem: String
            if scheme != "https" {
                problem = "is fetched over cleartext \(scheme)"
            } else if Self.insecure?.hasMatch(in: Array(lineText.utf8)) ?? false {
                problem = "is fetched over https with certificate checks switched off"
            } else {
                continue
            }
            found.append(TextURL(address: String(decoding: bytes[match.range], as: UTF8.self), scheme: scheme, host: host,
                                 line: line, lineText: lineText, problem: problem, near: near, fetchedLine: fetchedLine))
        }
        guard !found.isEmpty else { return .nothing }
        return TextScan(upgradeScript: Self.upgradeScript?.hasMatch(in: bytes) ?? false, urls: found)
    }

    /// A text file's update sources: `textScan` is worked out by the read-ahead pass while it
    /// holds each file (an image's text is larger than the content cache), so only the few
    /// files with a candidate URL are looked at again, and none is read again.
    static let textAnalysis = ContentAnalysis(id: "update.channels:text", binaries: false, nothing: TextScan.nothing,
                                              isNothing: { $0.urls.isEmpty }) { textScan($0) }

    /// Programs are searched in the read-ahead pass while it holds them (for an image, while it
    /// decompresses them anyway), and text files for candidate update sources (`textScan`).
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware else { return ContentInterests() }
        guard let entries = context.tree?.index.entries else { return ContentInterests() }
        let selected = context.filePositions(matching: paths, excluding: exclude).filter { entries[$0].size > 0 && entries[$0].size < 32 << 20 }
        return ContentInterests(Self.analysis, Self.textAnalysis, positions: selected)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        let textScans = context.analysis(Self.textAnalysis.id), programs = context.analysis(Self.analysis.id)
        for file in context.files(matching: paths, excluding: exclude) where file.size > 0 && file.size < 32 << 20 {
            let scan: TextScan
            if let analysed = textScans(file) as? TextScan {
                scan = analysed
            } else if let text = context.readUnlessBinary(file) {
                scan = Self.textScan(text.bytes)
            } else {
                // A program: what the read-ahead pass found in it, or the same search on its bytes.
                let found = programs(file) as? [ProgramURL]
                    ?? context.read(file).map { Self.programURLs(in: $0.bytes) } ?? []
                for url in found {
                    observations.append(Observation(
                        message: "update source \(Snippet.make(url.address)) in \(file.path) is fetched over cleartext \(url.scheme)",
                        location: Location(path: file.path),
                        evidence: Evidence(key: "update-channel:" + url.scheme + ":" + url.host, snippet: Snippet.make(url.address),
                                           facts: ["scheme": url.scheme, "host": url.host])))
                }
                continue
            }
            guard !scan.urls.isEmpty else { continue }
            let upgrades = (Self.updateWord?.hasMatch(in: Array(file.name.utf8)) ?? false) || scan.upgradeScript
            var seen = Set<String>()
            for url in scan.urls where url.near || (upgrades && url.fetchedLine) {
                guard seen.insert(url.address).inserted else { continue }
                observations.append(Observation(
                    message: "update source \(Snippet.make(url.address)) in \(file.path) \(url.problem)",
                    location: Location(path: file.path, line: url.line),
                    evidence: Evidence(key: "update-channel:" + url.scheme + ":" + url.host, snippet: Snippet.make(url.lineText),
                                       facts: ["scheme": url.scheme, "host": url.host])))
            }
        }
        return observations
    }
}

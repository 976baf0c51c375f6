import RBCore

/// `firmware.advisory`: the image's own version metadata against a vendor advisory's affected
/// range (RB-WEB-008: Hikvision HSRC-202109-01 / CVE-2021-36260). Version files (text) are
/// searched with `versionPattern`, whose named groups `version` and `build` (a `YYMMDD` build
/// date) give the firmware version; `modelPattern` gives the model. An entry whose `models`
/// pattern matches the model (or any model when the image names none) and whose build range
/// contains the build fails at the rule's severity. Nothing is sent to a device: the check
/// reads the image only.
public struct AdvisoryCheck: Check {
    public struct Entry: Decodable, Sendable {
        /// Models the entry covers (a PCRE pattern; default any).
        var models: String?
        /// First affected build date (`YYMMDD`, inclusive; default none).
        var buildFrom: String?
        /// First fixed build date (`YYMMDD`): builds before it are affected.
        var buildBefore: String
        /// What fixes it, for the message.
        var fixed: String?
    }

    public struct Options: Decodable, Sendable {
        var advisory: String
        var paths: [String]?
        /// Must match a version file for the advisory to apply (the vendor's mark).
        var vendorPattern: String
        /// Named groups `version` and `build`.
        var versionPattern: String
        var modelPattern: String?
        var affected: [Entry]
    }

    public static let id = "firmware.advisory"
    public static let summary = "Compares the image's firmware version and build date with a vendor advisory's affected range."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let advisory: String
    let paths: [Glob]
    let vendor: Regex
    let version: Regex
    let model: Regex?
    let affected: [(models: Regex?, from: Int?, before: Int, fixed: String?)]

    public init(options: Options) throws(CheckOptionError) {
        advisory = options.advisory
        paths = try PathPatterns.compile(options.paths ?? ["**/*{version,Version,VERSION,release,Release}*", "**/*.ver",
                                                           "**/*{devinfo,deviceInfo,DeviceInfo,device_info}*"], key: "paths")
        do {
            vendor = try Regex(options.vendorPattern)
            version = try Regex(options.versionPattern)
            model = try options.modelPattern.map { try Regex($0) }
        } catch {
            throw CheckOptionError(key: "versionPattern", "\(error)")
        }
        guard options.versionPattern.contains("(?<version>"), options.versionPattern.contains("(?<build>") else {
            throw CheckOptionError(key: "versionPattern", "needs the named groups (?<version>…) and (?<build>…)")
        }
        var entries: [(Regex?, Int?, Int, String?)] = []
        for (i, entry) in options.affected.enumerated() {
            guard let before = Self.buildDate(entry.buildBefore), entry.buildFrom.map({ Self.buildDate($0) != nil }) ?? true else {
                throw CheckOptionError(key: "affected[\(i)]", "build dates are YYMMDD")
            }
            do {
                entries.append((try entry.models.map { try Regex($0) }, entry.buildFrom.flatMap(Self.buildDate), before, entry.fixed))
            } catch {
                throw CheckOptionError(key: "affected[\(i)].models", "\(error)")
            }
        }
        affected = entries
    }

    static func buildDate(_ text: String) -> Int? {
        guard text.count == 6, text.allSatisfy(\.isNumber), let value = Int(text) else { return nil }
        let month = value / 100 % 100, day = value % 100
        return (1...12).contains(month) && (1...31).contains(day) ? value : nil
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        var seen = Set<String>()
        for file in context.files(matching: paths) where file.size < 1 << 20 {
            guard let content = context.readUnlessBinary(file), vendor.hasMatch(in: content.bytes),
                  let match = version.matches(in: content.bytes, limit: 1).first,
                  let versionRange = version.group(named: "version", in: match), let buildRange = version.group(named: "build", in: match),
                  let build = Self.buildDate(String(decoding: content.bytes[buildRange], as: UTF8.self)) else { continue }
            let versionText = String(decoding: content.bytes[versionRange], as: UTF8.self)
            let modelText = model.flatMap { $0.matches(in: content.bytes, limit: 1).first }.map { String(decoding: content.bytes[$0.range], as: UTF8.self) }
            guard seen.insert(versionText + "/" + String(build) + "/" + (modelText ?? "")).inserted else { continue }
            for entry in affected {
                if let models = entry.models, let modelText, !models.hasMatch(in: Array(modelText.utf8)) { continue }
                guard build < entry.before, build >= (entry.from ?? 0) else { continue }
                let line = LineIndex(content.bytes).line(atOffset: match.range.lowerBound)
                observations.append(Observation(
                    message: "\(modelText.map { $0 + " " } ?? "")firmware \(versionText) build \(Self.format6(build)) (\(file.path)) is in the affected range of \(advisory)"
                        + (entry.fixed.map { "; fixed in \($0)" } ?? ""),
                    location: Location(path: file.path, line: line),
                    evidence: Evidence(key: advisory + ":" + versionText + ":" + String(build),
                                       facts: ["version": versionText, "build": Self.format6(build), "model": modelText ?? "", "advisory": advisory])))
                break
            }
        }
        return observations
    }
}

extension AdvisoryCheck {
    /// A `YYMMDD` build date with its leading zero.
    static func format6(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}

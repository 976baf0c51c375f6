import Foundation

/// The results of an earlier run (`--compare PREVIOUS.sarif|json`), read from rbscan's SARIF
/// (`partialFingerprints["rbscanFingerprint/v1"]`) or JSON (`findings[].fingerprint`) report,
/// and compared with this run by fingerprint.
public struct PreviousResults: Sendable {
    /// One earlier result.
    public struct Entry: Sendable {
        public var fingerprint: String
        public var ruleID: String
        public var status: FindingStatus
        public var severity: Severity
        public var category: String
        public var message: String
        public var path: String
        public var line: Int?
        public var target: String
        public var waived: Bool
        /// `Fingerprint.evidenceState` of the earlier finding (nil in reports written before it).
        public var evidenceState: String? = nil
    }

    public let file: String
    public let entries: [Entry]

    public init(file: String, entries: [Entry]) {
        self.file = file
        self.entries = entries
    }

    /// The key of rbscan's fingerprint in SARIF `partialFingerprints` (versioned with its recipe).
    public static let sarifFingerprintKey = "rbscanFingerprint/v1"

    public static func load(file: String) throws(DiagnosticError) -> PreviousResults {
        let bytes: [UInt8]
        do { bytes = try HostFiles.readBytes(file, limit: 1 << 30) } catch {
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "compare.unreadable", "\(error)", at: SourceLocation(file: file)))
        }
        return try parse(bytes, file: file)
    }

    /// Decodes only the fields a comparison needs (JSONDecoder skips the rest), instead of
    /// building a dictionary of every value: a 51 MB report took 1.17 GB that way.
    public static func parse(_ bytes: [UInt8], file: String) throws(DiagnosticError) -> PreviousResults {
        func fail(_ message: String) -> DiagnosticError {
            DiagnosticError(Diagnostic(.error, .configuration, code: "compare.malformed", message, at: SourceLocation(file: file)))
        }
        let document = try Slim.decode(Slim.Document.self, from: bytes) { fail("not an rbscan SARIF or JSON report: " + $0) }
        var entries: [Entry] = []
        if let runs = document.runs {
            for run in runs {
                let rules = run.tool?.driver?.rules ?? []
                for result in run.results ?? [] {
                    guard let fingerprint = result.partialFingerprints?[sarifFingerprintKey] else {
                        throw fail("a SARIF result without partialFingerprints[\"\(sarifFingerprintKey)\"]: not written by rbscan")
                    }
                    if result.baselineState == "absent" { continue }
                    let ruleID = result.ruleId ?? result.ruleIndex.flatMap { $0 >= 0 && $0 < rules.count ? rules[$0].id : nil } ?? ""
                    let physical = result.locations?.first?.physicalLocation
                    let uri = physical?.artifactLocation?.uri ?? ""
                    let kind = result.kind ?? "fail"
                    entries.append(Entry(
                        fingerprint: fingerprint, ruleID: ruleID,
                        status: kind == "review" ? .review : kind == "notApplicable" ? .notApplicable : .fail,
                        severity: Severity(rawValue: result.properties?.severity ?? "") ?? .medium,
                        category: result.properties?.category ?? "",
                        message: result.message?.text ?? "",
                        path: uri.contains("://") ? uri : (uri.removingPercentEncoding ?? uri),
                        line: physical?.region?.startLine,
                        target: result.properties?.target ?? "", waived: !(result.suppressions ?? []).isEmpty,
                        evidenceState: result.properties?.evidenceState))
                }
            }
        } else if document.schemaVersion, let findings = document.findings {
            let targets = (document.targets ?? []).map { $0.spec ?? "" }
            for finding in findings {
                guard let fingerprint = finding.fingerprint else { throw fail("a finding without a fingerprint") }
                if finding.baselineState == "absent" { continue }
                let target = finding.target ?? 0
                entries.append(Entry(
                    fingerprint: fingerprint, ruleID: finding.ruleId ?? "",
                    status: FindingStatus(rawValue: finding.status ?? "") ?? .fail,
                    severity: Severity(rawValue: finding.severity ?? "") ?? .medium,
                    category: finding.category ?? "", message: finding.message ?? "",
                    path: finding.path ?? "", line: finding.line,
                    target: target >= 0 && target < targets.count ? targets[target] : "", waived: finding.waived,
                    evidenceState: finding.evidenceState))
            }
        } else {
            throw fail("not an rbscan SARIF (runs) or JSON (schemaVersion, findings) report")
        }
        return PreviousResults(file: file, entries: entries)
    }

    /// The fields of a SARIF or JSON report a comparison reads; every other field is skipped, and
    /// a field of an unexpected type is taken as absent.
    enum Slim {
        struct Document: Decodable {
            var runs: [Run]?
            var schemaVersion: Bool
            var findings: [Finding]?
            var targets: [Target]?
            enum CodingKeys: String, CodingKey { case runs, schemaVersion, findings, targets }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                runs = try c.decodeIfPresent([Run].self, forKey: .runs)
                schemaVersion = c.contains(.schemaVersion)
                findings = try c.decodeIfPresent([Finding].self, forKey: .findings)
                targets = try c.decodeIfPresent([Target].self, forKey: .targets)
            }
        }
        struct Run: Decodable {
            var tool: Tool?
            var results: [Result]?
        }
        struct Tool: Decodable { var driver: Driver? }
        struct Driver: Decodable { var rules: [Rule]? }
        struct Rule: Decodable {
            var id: String?
            init(from decoder: any Decoder) throws { id = (try? decoder.container(keyedBy: Key.self))?.lenient("id") }
        }
        struct Result: Decodable {
            var ruleId: String?
            var ruleIndex: Int?
            var kind: String?
            var baselineState: String?
            var message: Message?
            var locations: [Location]?
            var partialFingerprints: [String: String]?
            var properties: Properties?
            var suppressions: [Ignored]?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                ruleId = c.lenient("ruleId")
                ruleIndex = c.lenient("ruleIndex")
                kind = c.lenient("kind")
                baselineState = c.lenient("baselineState")
                message = c.lenient("message")
                locations = c.lenient("locations")
                partialFingerprints = c.lenient("partialFingerprints")
                properties = c.lenient("properties")
                suppressions = c.lenient("suppressions")
            }
        }
        struct Message: Decodable { var text: String? }
        struct Location: Decodable { var physicalLocation: Physical? }
        struct Physical: Decodable {
            var artifactLocation: Artifact?
            var region: Region?
        }
        struct Artifact: Decodable { var uri: String? }
        struct Region: Decodable {
            var startLine: Int?
            /// The evidence snippet rbscan writes on the region.
            var snippet: String?
            init(from decoder: any Decoder) throws {
                let c = try? decoder.container(keyedBy: Key.self)
                startLine = c?.lenient("startLine")
                snippet = (c?.lenient("snippet") as Message?)?.text
            }
        }
        struct Properties: Decodable {
            var severity: String?
            var category: String?
            var target: String?
            var evidenceState: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                severity = c.lenient("severity")
                category = c.lenient("category")
                target = c.lenient("target")
                evidenceState = c.lenient("evidenceState")
            }
        }
        struct Finding: Decodable {
            var fingerprint: String?
            var baselineState: String?
            var target: Int?
            var ruleId: String?
            var status: String?
            var severity: String?
            var category: String?
            var message: String?
            var path: String?
            var line: Int?
            var waived: Bool
            var evidenceState: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                func text(_ name: String) -> String? { c.lenient(name) }
                fingerprint = text("fingerprint")
                baselineState = text("baselineState")
                target = c.lenient("target")
                ruleId = text("ruleId")
                status = text("status")
                severity = text("severity")
                category = text("category")
                message = text("message")
                path = text("path")
                line = c.lenient("line")
                evidenceState = text("evidenceState")
                waived = c.contains(Key("waiver")) && !((try? c.decodeNil(forKey: Key("waiver"))) ?? true)
            }
        }
        struct Target: Decodable {
            var spec: String?
            init(from decoder: any Decoder) throws { spec = (try? decoder.container(keyedBy: Key.self))?.lenient("spec") }
        }
        /// Any JSON value, skipped.
        struct Ignored: Decodable {
            init(from decoder: any Decoder) throws {}
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        /// Decodes `type` from a report's bytes where they are (no second copy of a large
        /// report); `fail` makes the error from a description of what went wrong.
        static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8],
                                         fail: (String) -> DiagnosticError) throws(DiagnosticError) -> T {
            do {
                return try bytes.withUnsafeBytes { raw in
                    guard let base = raw.baseAddress else { throw fail("the file is empty") }
                    // Data never writes to these bytes: it is only read by the decoder.
                    let view = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none)
                    return try JSONDecoder().decode(type, from: view)
                }
            } catch let error as DiagnosticError {
                throw error
            } catch let error as DecodingError {
                throw fail(describe(error))
            } catch {
                throw fail("\(error)")
            }
        }

        static func describe(_ error: DecodingError) -> String {
            switch error {
            case .dataCorrupted(let context): return context.underlyingError.map { "\($0)" } ?? context.debugDescription
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
                return context.debugDescription + " at " + context.codingPath.map(\.stringValue).joined(separator: ".")
            @unknown default: return "\(error)"
            }
        }
    }

    /// Sets every finding's `baselineState` and adds the previous results missing from this run
    /// as `absent` findings (never gating).
    ///
    /// A finding is matched on its target and fingerprint when the previous results have a
    /// target of the same name (a fleet, or the same image path), else on its fingerprint alone
    /// (one image compared with the build before it, under another file name); each earlier
    /// result matches at most one finding.
    public func apply(to report: inout ScanReport) {
        let previousTargets = Set(entries.map(\.target))
        var byTarget: [String: [Int]] = [:], byFingerprint: [String: [Int]] = [:]
        for (i, entry) in entries.enumerated() {
            byTarget[entry.target + "\u{0}" + entry.fingerprint, default: []].append(i)
            byFingerprint[entry.fingerprint, default: []].append(i)
        }
        var matched = Set<Int>()
        for i in report.findings.indices where report.findings[i].baselineState != .absent {
            let finding = report.findings[i]
            let spec = finding.targetIndex < report.targets.count ? report.targets[finding.targetIndex].spec : ""
            let candidates = previousTargets.contains(spec) ? byTarget[spec + "\u{0}" + finding.fingerprint] : byFingerprint[finding.fingerprint]
            guard let index = candidates?.first(where: { !matched.contains($0) }) else {
                report.findings[i].baselineState = .new
                continue
            }
            matched.insert(index)
            // Updated: another status or severity, or other evidence. Never the message: its wording
            // and incidental details (a line number, a count of other things) are not the finding.
            let before = entries[index]
            let same = before.status == finding.status && before.severity == finding.severity
                && (before.evidenceState.map { $0 == Fingerprint.evidenceState(finding.evidence) } ?? true)
            report.findings[i].baselineState = same ? .unchanged : .updated
        }
        let targetIndex = Dictionary(report.targets.enumerated().map { ($1.spec, $0) }, uniquingKeysWith: { a, _ in a })
        for (index, entry) in entries.enumerated() where !matched.contains(index) {
            let category = Category(rawValue: entry.category)
                ?? Category(rawValue: String(entry.ruleID.split(separator: "-").dropFirst().first ?? "")) ?? .SYS
            var finding = Finding(ruleID: entry.ruleID, status: entry.status, severity: entry.severity, category: category,
                                  message: entry.message, targetIndex: targetIndex[entry.target] ?? 0,
                                  location: Location(path: entry.path, line: entry.line), evidence: Evidence(key: ""))
            finding.fingerprint = entry.fingerprint
            finding.baselineState = .absent
            report.findings.append(finding)
        }
        report.findings.sort(by: Finding.deterministicOrder)
    }
}

import Foundation
import RBCore
import RBCrypto

/// CycloneDX 1.5 JSON: the software bill of materials of the scanned firmware. One BOM for the
/// run: `metadata.component` is the scanned image (its filesystems are its sub-components when
/// there are several), and every component found in a firmware target (package databases and
/// version strings, see RB-PKG-003/004) is listed with a package URL — `pkg:deb` for dpkg
/// packages, `pkg:generic` otherwise — and where it was found. The serial number is derived from
/// the content, so identical scans give identical BOMs.
public struct CycloneDXReporter: Reporter {
    public static let name = "cyclonedx"
    public static let fileExtensions = ["cdx.json", "bom.json"]

    public init() {}

    struct Property: Encodable { var name: String; var value: String }

    struct Item: Encodable {
        var type: String
        var bomRef: String
        var name: String
        var version: String?
        var cpe: String?
        var purl: String?
        var properties: [Property]?
        var components: [Item]?

        enum CodingKeys: String, CodingKey {
            case type, bomRef = "bom-ref", name, version, cpe, purl, properties, components
        }
    }

    struct Tool: Encodable { var type = "application"; var name: String; var version: String }
    struct Tools: Encodable { var components: [Tool] }
    struct Metadata: Encodable {
        var timestamp: String?
        var tools: Tools
        var component: Item
    }

    struct Source: Encodable { var name: String; var url: String? }
    struct Reference: Encodable { var id: String; var source: Source }
    struct Rating: Encodable { var score: Double?; var severity: String; var method = "other" }
    struct Affect: Encodable { var ref: String }
    struct Vulnerability: Encodable {
        var bomRef: String
        var id: String
        var source: Source
        var references: [Reference]?
        var ratings: [Rating]?
        var description: String
        var affects: [Affect]
        var properties: [Property]?

        enum CodingKeys: String, CodingKey { case bomRef = "bom-ref", id, source, references, ratings, description, affects, properties }
    }

    struct Document: Encodable {
        var bomFormat = "CycloneDX"
        var specVersion = "1.5"
        var serialNumber: String
        var version = 1
        var metadata: Metadata
        var components: [Item]
        var vulnerabilities: [Vulnerability]?
    }

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        var components: [Item] = []
        var seen = Set<String>()
        var filesystems: [Item] = []
        for (t, target) in report.targets.enumerated() where target.kind == .firmware {
            filesystems.append(Item(type: "firmware", bomRef: "target-\(t)", name: target.spec, version: nil, cpe: nil, purl: nil,
                                    properties: nil, components: nil))
            for component in target.components ?? [] {
                let purl = Self.purl(component)
                let ref = purl + "#" + String(t)
                guard seen.insert(ref).inserted else { continue }
                components.append(Item(
                    type: Self.type(of: component), bomRef: ref, name: component.name, version: component.version, cpe: component.cpe, purl: purl,
                    properties: [Property(name: "rbscan:source", value: component.source),
                                 Property(name: "rbscan:path", value: component.path),
                                 Property(name: "rbscan:target", value: target.spec)],
                    components: nil))
            }
        }
        let name = report.targets.first?.containers.first ?? report.targets.first?.spec ?? "rbscan scan"
        var root = Item(type: "firmware", bomRef: "image", name: name, version: nil, cpe: nil, purl: nil, properties: nil, components: nil)
        if filesystems.count > 1 { root.components = filesystems }
        var document = Document(serialNumber: "", metadata: Metadata(timestamp: report.startTime,
                                                                       tools: Tools(components: [Tool(name: "rbscan", version: RBScanVersion.current)]),
                                                                       component: root),
                                components: components)
        let vulnerabilities = Self.vulnerabilities(report)
        document.vulnerabilities = vulnerabilities.isEmpty ? nil : vulnerabilities
        document.serialNumber = Self.serialNumber(components.map { $0.bomRef } + vulnerabilities.map(\.bomRef) + [name])
        return try JSONOutput.encode(document)
    }

    /// The known vulnerabilities RB-PKG-003 matched (`--vuln-db`), one entry per advisory with
    /// every component it affects.
    static func vulnerabilities(_ report: ScanReport) -> [Vulnerability] {
        var byID: [String: Vulnerability] = [:]
        var order: [String] = []
        for finding in report.findings where finding.ruleID == "RB-PKG-003" && finding.status == .fail {
            let facts = finding.evidence.facts
            guard let id = facts["advisory"], finding.targetIndex < report.targets.count,
                  let component = report.targets[finding.targetIndex].components?.first(where: {
                      $0.name == facts["component"] && $0.version == facts["version"] && $0.path == finding.location.path
                  }) else { continue }
            let ref = Affect(ref: purl(component) + "#" + String(finding.targetIndex))
            if byID[id] != nil {
                if !byID[id]!.affects.contains(where: { $0.ref == ref.ref }) { byID[id]!.affects.append(ref) }
                continue
            }
            let cves = (facts["cve"] ?? "").split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty && $0 != id }
            let score = facts["cvss"].flatMap(Double.init)
            var properties: [Property] = []
            if let kev = facts["kev"] { properties.append(Property(name: "rbscan:kev-date-added", value: kev)) }
            if let fixed = facts["fixed"] { properties.append(Property(name: "rbscan:fixed", value: fixed)) }
            byID[id] = Vulnerability(
                bomRef: "vuln-" + id, id: id,
                source: Source(name: id.hasPrefix("CVE-") ? "NVD" : "OSV", url: nil),
                references: cves.isEmpty ? nil : cves.map { Reference(id: String($0), source: Source(name: "NVD", url: "https://nvd.nist.gov/vuln/detail/\($0)")) },
                ratings: score.map { [Rating(score: $0, severity: $0 >= 9 ? "critical" : $0 >= 7 ? "high" : $0 >= 4 ? "medium" : $0 > 0 ? "low" : "none")] },
                description: finding.message, affects: [ref], properties: properties.isEmpty ? nil : properties)
            order.append(id)
        }
        return order.map { byID[$0]! }
    }

    static func type(of component: Component) -> String {
        switch component.name {
        case "linux": return "operating-system"
        case "glibc", "uclibc", "musl", "openssl", "curl", "sqlite", "gsoap", "live555": return "library"
        default: return component.source == "binary" ? "application" : "library"
        }
    }

    /// A package URL: `pkg:deb/debian/NAME@VERSION` for dpkg, `pkg:generic/NAME@VERSION` otherwise.
    static func purl(_ component: Component) -> String {
        let name = URIPath.encode(component.name, keeping: ""), version = URIPath.encode(component.version, keeping: "")
        return component.source == "dpkg" ? "pkg:deb/debian/\(name)@\(version)" : "pkg:generic/\(name)@\(version)"
    }

    /// An RFC 4122 name-based (version 5 layout) UUID URN from the BOM's content.
    static func serialNumber(_ parts: [String]) -> String {
        var digest = Array(Digest.sha256Hex(Array(parts.joined(separator: "\n").utf8)).utf8.prefix(32))
        digest[12] = UInt8(ascii: "5")
        let variant = "89ab".utf8.map { $0 }
        digest[16] = variant[Int(digest[16]) % 4]
        let hex = String(decoding: digest, as: UTF8.self)
        let chars = Array(hex)
        func part(_ range: Range<Int>) -> String { String(chars[range]) }
        return "urn:uuid:\(part(0..<8))-\(part(8..<12))-\(part(12..<16))-\(part(16..<20))-\(part(20..<32))"
    }
}

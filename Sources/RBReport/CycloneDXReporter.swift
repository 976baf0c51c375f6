import Foundation
import RBCore
import RBCrypto

/// CycloneDX 1.5 JSON: the software bill of materials of the scanned firmware. One BOM for the
/// run: `metadata.component` is the scanned image file (its filesystems are its sub-components
/// when there are several; type `file`, which every consumer tried reads: Trivy refuses a
/// `firmware` root), and each firmware target contributes
/// - its distribution (os-release) as an `operating-system` component;
/// - one component per installed package, with a package URL (`pkg:deb/debian/NAME@VERSION`
///   with `arch`, `distro` and `upstream` qualifiers as Syft writes them; `pkg:generic` for
///   opkg), its source package, licences from its copyright file and a CPE where the source is a
///   known upstream product, and the packages it depends on in `dependencies`;
/// - one component per version-string detection (RB-PKG-003/004) in a file no package owns, with
///   the file's SHA-256. A detection in a packaged file (`glibc` in libc6's `libc.so.6`) is folded
///   into that package: its CPE and where it was found become the package's.
/// The serial number is derived from the content, so identical scans give identical BOMs.
public struct CycloneDXReporter: Reporter {
    public static let name = "cyclonedx"
    public static let fileExtensions = ["cdx.json", "bom.json"]

    public init() {}

    struct Property: Encodable { var name: String; var value: String }

    struct Hash: Encodable { var alg: String; var content: String }
    struct License: Encodable { var id: String?; var name: String? }
    struct LicenseChoice: Encodable { var license: License }
    struct Dependency: Encodable { var ref: String; var dependsOn: [String] }

    struct Item: Encodable {
        var type: String
        var bomRef: String
        var name: String
        var version: String?
        var description: String?
        var hashes: [Hash]?
        var licenses: [LicenseChoice]?
        var cpe: String?
        var purl: String?
        var properties: [Property]?
        var components: [Item]?

        init(type: String, bomRef: String, name: String, version: String? = nil, description: String? = nil, hashes: [Hash]? = nil,
             licenses: [LicenseChoice]? = nil, cpe: String? = nil, purl: String? = nil, properties: [Property]? = nil, components: [Item]? = nil) {
            self.type = type
            self.bomRef = bomRef
            self.name = name
            self.version = version
            self.description = description
            self.hashes = hashes
            self.licenses = licenses
            self.cpe = cpe
            self.purl = purl
            self.properties = properties
            self.components = components
        }

        enum CodingKeys: String, CodingKey {
            case type, bomRef = "bom-ref", name, version, description, hashes, licenses, cpe, purl, properties, components
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
        var dependencies: [Dependency]?
        var vulnerabilities: [Vulnerability]?
    }

    public func render(_ report: ScanReport, color: Bool) throws -> String {
        var components: [Item] = []
        var dependencies: [Dependency] = []
        var seen = Set<String>()
        var filesystems: [Item] = []
        for (t, target) in report.targets.enumerated() where target.kind == .firmware {
            filesystems.append(Item(type: "file", bomRef: "target-\(t)", name: target.spec))
            let found = target.components ?? []
            if let distribution = found.lazy.compactMap(\.distribution).first {
                let ref = "os:\(distribution.id)@\(distribution.versionID ?? "")#\(t)"
                if seen.insert(ref).inserted {
                    components.append(Item(type: "operating-system", bomRef: ref, name: distribution.id, version: distribution.versionID,
                                           description: distribution.prettyName,
                                           properties: [Property(name: "rbscan:target", value: target.spec)]))
                }
            }
            // Detections folded into the package owning their file.
            var folded: [String: [Component]] = [:]
            let packaged = Set(found.filter { $0.source != "binary" }.map(\.name))
            for component in found where component.source == "binary" {
                if let owner = component.ownedBy, packaged.contains(owner) { folded[owner, default: []].append(component) }
            }
            var refByName: [String: String] = [:]
            for component in found where !(component.source == "binary" && component.ownedBy.map(packaged.contains) == true) {
                let ref = Self.ref(component, target: t)
                guard seen.insert(ref).inserted else { continue }
                if component.source != "binary", refByName[component.name] == nil { refByName[component.name] = ref }
                components.append(Self.item(component, ref: ref, target: target.spec, folded: folded[component.name] ?? []))
            }
            for component in found where component.source != "binary" {
                let targets = (component.dependsOn ?? []).compactMap { refByName[$0] }
                guard !targets.isEmpty, let ref = refByName[component.name], ref == Self.ref(component, target: t) else { continue }
                dependencies.append(Dependency(ref: ref, dependsOn: targets))
            }
        }
        let name = report.targets.first?.containers.first ?? report.targets.first?.spec ?? "rbscan scan"
        var root = Item(type: "file", bomRef: "image", name: name)
        if filesystems.count > 1 { root.components = filesystems }
        var document = Document(serialNumber: "", metadata: Metadata(timestamp: report.startTime,
                                                                       tools: Tools(components: [Tool(name: "rbscan", version: RBScanVersion.current)]),
                                                                       component: root),
                                components: components)
        // The image holds every component: the root's direct dependencies, so that consumers
        // see a complete graph (cyclonedx-python-lib warns on a root without any).
        if !components.isEmpty { dependencies.insert(Dependency(ref: root.bomRef, dependsOn: components.map(\.bomRef)), at: 0) }
        document.dependencies = dependencies.isEmpty ? nil : dependencies
        let vulnerabilities = Self.vulnerabilities(report)
        document.vulnerabilities = vulnerabilities.isEmpty ? nil : vulnerabilities
        document.serialNumber = Self.serialNumber(components.map { $0.bomRef } + vulnerabilities.map(\.bomRef) + [name])
        return try JSONOutput.encode(document)
    }

    /// A component's BOM reference: its package URL and target (one package in two images is
    /// two components).
    static func ref(_ component: Component, target: Int) -> String { purl(component) + "#" + String(target) }

    /// The reference a vulnerability on `component` points at: its own, or the package's that
    /// owns the file it was found in.
    static func affectedRef(_ component: Component, in found: [Component], target: Int) -> String {
        if component.source == "binary", let owner = component.ownedBy,
           let package = found.first(where: { $0.source != "binary" && $0.name == owner }) {
            return ref(package, target: target)
        }
        return ref(component, target: target)
    }

    static func item(_ component: Component, ref: String, target: String, folded: [Component]) -> Item {
        var properties = [Property(name: "rbscan:source", value: component.source),
                          Property(name: "rbscan:path", value: component.path),
                          Property(name: "rbscan:target", value: target)]
        if component.source != "binary" {
            if let source = component.sourcePackage { properties.append(Property(name: "rbscan:source-package", value: source)) }
            if let version = component.sourceVersion { properties.append(Property(name: "rbscan:source-version", value: version)) }
            // Trivy takes a package's source from these (it ignores the purl's `upstream`), and
            // matches Debian advisories, which name source packages, by them.
            if component.source == "dpkg", let source = component.sourcePackage {
                let version = component.sourceVersion ?? component.version
                properties.append(Property(name: "aquasecurity:trivy:SrcName", value: source))
                properties.append(Property(name: "aquasecurity:trivy:SrcVersion", value: Component.upstreamVersion(version)))
                let revision = Component.debianRevision(version), epoch = Component.epoch(version)
                if let revision { properties.append(Property(name: "aquasecurity:trivy:SrcRelease", value: revision)) }
                if let epoch { properties.append(Property(name: "aquasecurity:trivy:SrcEpoch", value: epoch)) }
            }
        }
        for detection in folded {
            properties.append(Property(name: "rbscan:detected", value: "\(detection.name) \(detection.version) in \(detection.path)"))
        }
        let licenses = (component.licenses ?? []).map { name in
            Component.spdxIdentifiers.contains(name) ? LicenseChoice(license: License(id: name)) : LicenseChoice(license: License(name: name))
        }
        let hashes = ([component] + folded).compactMap(\.sha256).first.map { [Hash(alg: "SHA-256", content: $0)] }
        return Item(type: type(of: component), bomRef: ref, name: component.name, version: component.version,
                    hashes: component.source == "binary" ? hashes : nil, licenses: licenses.isEmpty ? nil : licenses,
                    cpe: component.cpe ?? component.packageCPE ?? folded.lazy.compactMap(\.cpe).first,
                    purl: purl(component), properties: properties)
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
            let ref = Affect(ref: affectedRef(component, in: report.targets[finding.targetIndex].components ?? [], target: finding.targetIndex))
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

    /// A package URL: `pkg:deb/DISTRO/NAME@VERSION?arch=…&distro=…&upstream=…` for dpkg (Syft's
    /// qualifiers: `upstream` is the source package, `SOURCE@VERSION` when its version differs),
    /// `pkg:generic/NAME@VERSION` otherwise (opkg packages with `arch` and `distro`). Versions
    /// keep `:` (an epoch) unencoded, as the purl specification's canonical form does.
    static func purl(_ component: Component) -> String {
        let name = URIPath.encode(component.name, keeping: ""), version = URIPath.encode(component.version, keeping: ":")
        var qualifiers: [(String, String)] = []
        if let architecture = component.architecture { qualifiers.append(("arch", architecture)) }
        if let distribution = component.distribution, component.source != "binary" { qualifiers.append(("distro", distribution.qualifier)) }
        if component.source == "dpkg", let source = component.sourcePackage, source != component.name || component.sourceVersion != component.version {
            let upstream = component.sourceVersion.map { $0 == component.version ? source : source + "@" + $0 } ?? source
            qualifiers.append(("upstream", upstream))
        }
        let query = qualifiers.isEmpty ? "" : "?" + qualifiers.map { "\($0.0)=\(URIPath.encode($0.1, keeping: ":"))" }.joined(separator: "&")
        if component.source == "dpkg" {
            let namespace = component.distribution.map { URIPath.encode($0.id, keeping: "") } ?? "debian"
            return "pkg:deb/\(namespace)/\(name)@\(version)\(query)"
        }
        return "pkg:generic/\(name)@\(version)\(query)"
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

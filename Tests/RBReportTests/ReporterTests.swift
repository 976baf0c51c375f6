import Foundation
import RBCore
import RBReport
import RBScan
import RBTestSupport
import Testing

/// A fixed report: the shipped rules on a memory root filesystem and a config file, with no
/// times or host paths, so the golden files are byte-stable.
func fixtureReport() async throws -> ScanReport {
    let configuration = ScanSession.configuration(ruleDirectories: [Repository.rules],
                                                  baseline: Repository.baselines + "/red-baseline-2.1.yaml")
    #expect(configuration.isValid)
    let rootfs = MemoryTree(name: "fixture-rootfs", items: [
        "etc/inittab": .file("::sysinit:/etc/init.d/rcS\nttyS0::respawn:-/bin/sh\n::respawn:/usr/sbin/telnetd -F\n"),
        "etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.1\nntpd -p pool.ntp.org\n", mode: 0o755),
        "etc/sysctl.conf": .file("kernel.randomize_va_space = 0\n"),
        "etc/ssl/private/server.key": .file("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPRV4BvIAaX5TctCV+Yr9WrQn35fy2uv+9EBe+NR7N2D\n-----END PRIVATE KEY-----\n", mode: 0o600),
        "bin/busybox": .init(content: Array("\u{7f}ELF BusyBox v1.31.1".utf8), mode: 0o4755),
        "var/www files/index.html": .file("<html></html>\n", mode: 0o666),
    ])
    let device = MemoryTree(name: "device.xml", items: [
        // A lockout container without threshold and duration: two review items grouped in one
        // result, so the golden reports keep covering how reviews are rendered.
        "device.xml": .file("<config>\n  <telnetd>\n    <enabled>true</enabled>\n  </telnetd>\n  <lockout>\n    <enabled>true</enabled>\n  </lockout>\n</config>\n"),
    ])
    var targets = [
        ScanTarget(spec: "fixture-rootfs", kind: .firmware, tree: rootfs, baseID: "FIXTURE_ROOTFS",
                   baseURI: "file:///fixtures/fixture-rootfs/"),
        ScanTarget(spec: "device.xml", kind: .config, tree: device, baseID: "DEVICE_XML", baseURI: "file:///fixtures/"),
    ]
    // As a scan session does: the shipped config adapters read config targets.
    for i in targets.indices { targets[i].adapters = configuration.adapters }
    let outcome = await Engine(rules: configuration.rules, jobs: 4).scan(targets)
    return ScanReport(targets: targets, rules: outcome.rulesRun, findings: outcome.findings,
                      diagnostics: outcome.diagnostics, baselineID: "red-baseline-2.1", gate: .severity(.high))
}

let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

@Suite("Reporters")
struct ReporterTests {
    @Test(arguments: [("sarif", "scan.sarif"), ("json", "scan.json"), ("text", "scan.txt")])
    func golden(format: String, file: String) async throws {
        let report = try await fixtureReport()
        let text = try #require(Reporters.named(format)).render(report, color: false)
        if let problem = try Golden.check(text, name: file, directory: goldenDirectory) {
            Issue.record(Comment(rawValue: problem))
        }
    }

    /// Every format writes, piece by piece, exactly the bytes it renders (JSON and SARIF stream
    /// their findings one at a time so a 100,000-finding report is never held whole), with
    /// findings, with one and with none.
    @Test(arguments: Reporters.names)
    func writingIsRendering(format: String) async throws {
        let full = try await fixtureReport()
        let reporter = try #require(Reporters.named(format))
        for count in [full.findings.count, 1, 0] {
            var report = full
            report.findings = Array(full.findings.prefix(count))
            let sink = StringSink()
            try reporter.write(report, color: false, to: sink)
            let rendered = try reporter.render(report, color: false)
            let written = sink.text.split(separator: "\n", omittingEmptySubsequences: false)
            let expected = rendered.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(written, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(written.count, expected.count)
            #expect(sink.text == rendered, "\(format), \(count) finding(s): line \(first + 1) differs: \(first < written.count ? written[first] : "(end)") vs \(first < expected.count ? expected[first] : "(end)")")
        }
        #expect(full.findings.count > 5)
    }

    @Test func sarifValidatesAgainstTheOfficialSchema() async throws {
        let report = try await fixtureReport()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.url("scan.sarif")
        try SARIFReporter().render(report, color: false).write(toFile: path, atomically: true, encoding: .utf8)
        let result = try validateSARIF(path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func sarifFollowsTheContract() async throws {
        let report = try await fixtureReport()
        let data = Data(try SARIFReporter().render(report, color: false).utf8)
        let log = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let runs = try #require(log["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        let run = runs[0]
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.count == report.rules.count)
        for rule in rules {
            let properties = try #require(rule["properties"] as? [String: Any])
            #expect(["9.5", "8.0", "5.5", "3.0"].contains(properties["security-severity"] as? String ?? ""))
            #expect((properties["tags"] as? [String])?.contains("security") == true)
            #expect(rule["shortDescription"] != nil && rule["fullDescription"] != nil && rule["help"] != nil)
        }
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == report.findings.count)
        #expect(!results.isEmpty)
        let bases = try #require(run["originalUriBaseIds"] as? [String: Any])
        for result in results {
            let id = try #require(result["ruleId"] as? String)
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(rules[index]["id"] as? String == id)
            #expect(["fail", "review", "notApplicable"].contains(result["kind"] as? String ?? ""))
            let fingerprints = try #require(result["partialFingerprints"] as? [String: String])
            #expect(fingerprints[SARIFReporter.fingerprintKey]?.count == 32)
            let locations = try #require(result["locations"] as? [[String: Any]])
            let physical = try #require(locations.first?["physicalLocation"] as? [String: Any])
            let artifact = try #require(physical["artifactLocation"] as? [String: Any])
            let uri = try #require(artifact["uri"] as? String)
            #expect(!uri.hasPrefix("/") && !uri.contains("://"), "uri \(uri) must be relative to the root")
            let base = try #require(artifact["uriBaseId"] as? String)
            #expect(bases[base] != nil)
            if let region = physical["region"] as? [String: Any] {
                #expect((region["startLine"] as? Int ?? 0) >= 1)
            }
        }
        // A path with a space is percent-encoded.
        #expect(results.contains { (($0["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any]).flatMap { ($0["artifactLocation"] as? [String: Any])?["uri"] as? String } == "var/www%20files/index.html" })
    }

    @Test func secretsNeverReachAnyOutput() async throws {
        let report = try await fixtureReport()
        for format in ["sarif", "json", "text"] {
            let text = try #require(Reporters.named(format)).render(report, color: false)
            #expect(!text.contains("MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAA"), "\(format) leaks key material")
        }
    }

    @Test func reportersAreFoundByNameAndExtension() {
        #expect(Reporters.forFile("out/r.sarif") is SARIFReporter)
        #expect(Reporters.forFile("r.json") is JSONReporter)
        #expect(Reporters.forFile("r.txt") is TextReporter)
        #expect(Reporters.forFile("r.pdf") == nil)
        #expect(Reporters.named("xml") == nil)
        #expect(Reporters.forFile("r.github.sarif") is SARIFGitHubReporter)
    }

    /// Every reporter in Sources/RBReport is registered (Reporters.all), and each name gives back
    /// its own type: a new format cannot be forgotten and silently write text.
    @Test func everyReporterIsRegistered() throws {
        let directory = Repository.root + "/Sources/RBReport"
        var declared: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for match in text.matches(of: /public struct (\w+): Reporter \{/) { declared.append(String(match.1)) }
        }
        #expect(declared.count >= 8)
        let registered = Reporters.all.map { "\($0)" }
        #expect(Set(declared) == Set(registered), "declared \(declared.sorted()), registered \(registered.sorted())")
        for type in Reporters.all {
            let made = try #require(Reporters.named(type.name))
            #expect(Swift.type(of: made) == type, "\(type.name) made \(Swift.type(of: made))")
        }
    }
}

@Suite("CycloneDX SBOM")
struct CycloneDXTests {
    func report(_ components: [Component]) -> ScanReport {
        var target = ScanTarget(spec: "fw.bin → squashfs@0x21043", kind: .firmware, tree: nil, baseID: "T", baseURI: nil,
                                containers: ["fw.bin", "squashfs@0x21043"])
        target.components = components
        return ScanReport(targets: [target], rules: [], findings: [], diagnostics: [], baselineID: "b", gate: .severity(.high),
                          startTime: "2026-11-30T00:00:00Z")
    }

    @Test("The BOM validates against the official CycloneDX 1.5 schema, lists every component with a purl, and is deterministic; a broken one is rejected")
    func validates() throws {
        let components = [
            Component(name: "busybox", version: "1.36.1", source: "binary", path: "bin/busybox"),
            Component(name: "libssl3", version: "3.0.17-1~deb12u2", source: "dpkg", path: "var/lib/dpkg/status"),
            Component(name: "linux", version: "4.9.84", source: "binary", path: "lib/modules/4.9.84"),
        ]
        let text = try CycloneDXReporter().render(report(components), color: false)
        #expect(try CycloneDXReporter().render(report(components), color: false) == text)
        let dir = try TemporaryDirectory(prefix: "rbscan-cdx")
        defer { dir.remove() }
        let path = dir.url("bom.cdx.json")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try validateCycloneDX(path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let listed = (document["components"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "") \($0["version"] ?? "") \($0["purl"] ?? "")" }
        #expect(listed == ["busybox 1.36.1 pkg:generic/busybox@1.36.1", "libssl3 3.0.17-1~deb12u2 pkg:deb/debian/libssl3@3.0.17-1~deb12u2",
                           "linux 4.9.84 pkg:generic/linux@4.9.84"])
        #expect((document["metadata"] as? [String: Any])?["component"] as? [String: Any] != nil)
        // The validator is real: a component without its required type is refused.
        try text.replacingOccurrences(of: "\"type\" : \"library\",", with: "").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try validateCycloneDX(path).status == 1)
        #expect(Reporters.forFile("out/bom.cdx.json") is CycloneDXReporter)
        #expect(Reporters.forFile("out/r.json") is JSONReporter)
    }
}

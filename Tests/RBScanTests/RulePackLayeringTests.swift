import Foundation
import RBCore
import RBTestSupport
import Testing

/// Third-party rules directories through the real `rbscan`: a manifest, layered over the shipped
/// rules (packs alone, adapters alone), selected by a baseline, named in the reports.
@Suite("Rule packs from third parties: manifests and layering", .serialized)
struct RulePackLayeringTests {
    let rbscan = Repository.rbscanBinary
    let example = Repository.root + "/Examples/camera-rootfs"

    static let acmeManifest = """
        format: 1
        id: acme-camera
        version: 1.4.0
        prefix: ACME
        rbscan: ">=0.1, <1"
        title: ACME camera rules

        """
    static let acmePack = """
        version: 1
        pack: acme-debug
        title: ACME debug interfaces
        rules:
          - id: ACME-CAM-001
            title: No factory debug daemon
            category: IFC
            severity: high
            description: ACME's factory debug daemon (acmedbgd) must not start in release images.
            remediation: Remove acmedbgd from the init scripts of release builds.
            check: file.regex
            targets: [firmware]
            options:
              paths: [etc/init.d/*]
              pattern: 'acmedbgd'
              message: "the factory debug daemon starts in {path}"

        """

    /// The JSON report's findings and rules.
    func json(_ path: String) throws -> (findings: [[String: Any]], rules: [[String: Any]]) {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        return (object?["findings"] as? [[String: Any]] ?? [], object?["rules"] as? [[String: Any]] ?? [])
    }

    /// A directory holding only an adapter is accepted and layered over the shipped rules: the
    /// shipped RB-AUTH-006 reads a vendor's export through it.
    @Test func adapterOnlyDirectoryTeachesTheShippedRules() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme-adapters/adapters/acme-nvr.yaml": .file("""
                version: 1
                adapter: acme-nvr
                title: ACME NVR export
                files: ["**/acme-nvr*.xml"]
                keys:
                  auth.lockout.threshold:
                    - xpath: "//Sec/Lock/maxTries"

                """),
            "acme-nvr-export.xml": .file("<Sec>\n  <Lock><maxTries>50</maxTries></Lock>\n</Sec>\n"),
        ], into: dir.path)
        let lint = try runProcess(rbscan, ["rules", "lint", "--rules", dir.url("acme-adapters")])
        #expect(lint.status == 0, "\(lint.stderr)")
        #expect(lint.stdout.contains("10 packs"), "the shipped packs load beside it: \(lint.stdout)")
        func lockoutThresholdFindings(_ extra: [String]) throws -> [[String: Any]] {
            let result = try runProcess(rbscan, ["scan", dir.url("acme-nvr-export.xml"), "--format", "json", "--output", dir.url("r.json"),
                                                 "--fail-on", "never"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            return try json(dir.url("r.json")).findings.filter { finding in
                finding["ruleId"] as? String == "RB-AUTH-006" && finding["status"] as? String == "fail"
                    && ((finding["evidence"] as? [String: Any])?["facts"] as? [String: String])?["adapter"] == "acme-nvr"
            }
        }
        let found = try lockoutThresholdFindings(["--rules", dir.url("acme-adapters")])
        #expect(found.count == 1 && found.first?["line"] as? Int == 2, "\(found)")
        #expect(try lockoutThresholdFindings([]).isEmpty)
    }

    /// A directory of one extra pack adds its rules to the shipped ones; --no-shipped-rules runs
    /// it alone; the reports name each rule's pack manifest.
    @Test func extraPackLayersOverTheShippedRules() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme/manifest.yaml": .file(Self.acmeManifest),
            "acme/debug.yaml": .file(Self.acmePack),
            "root/etc/init.d/S99debug": .file("#!/bin/sh\n/usr/sbin/acmedbgd -p 9999 &\n", mode: 0o755),
        ], into: dir.path)
        let layered = try runProcess(rbscan, ["scan", example, dir.url("root"), "--rules", dir.url("acme"),
                                              "--format", "json", "--output", dir.url("r.json"), "--format", "sarif", "--output", dir.url("r.sarif")])
        #expect(layered.status == 1, "\(layered.stderr)")
        let report = try json(dir.url("r.json"))
        let ruleIDs = Set(report.findings.compactMap { $0["ruleId"] as? String })
        #expect(ruleIDs.contains("ACME-CAM-001") && ruleIDs.contains("RB-IFC-001"), "\(ruleIDs)")
        let acme = try #require(report.rules.first { $0["id"] as? String == "ACME-CAM-001" })
        #expect(acme["manifest"] as? [String: String] == ["id": "acme-camera", "version": "1.4.0"])
        let shipped = try #require(report.rules.first { $0["id"] as? String == "RB-IFC-001" })
        #expect(shipped["manifest"] as? [String: String] == ["id": "rbscan", "version": RBScanVersion.current])
        // SARIF: each pack a tool extension with its version, each rule naming its own.
        let sarif = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.sarif")))) as? [String: Any]
        let tool = ((sarif?["runs"] as? [[String: Any]])?.first?["tool"]) as? [String: Any]
        let extensions = tool?["extensions"] as? [[String: String]]
        #expect(extensions?.contains(["name": "acme-camera", "version": "1.4.0", "semanticVersion": "1.4.0"]) == true, "\(String(describing: extensions))")
        let descriptors = (tool?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
        let acmeDescriptor = descriptors.first { $0["id"] as? String == "ACME-CAM-001" }
        #expect((acmeDescriptor?["properties"] as? [String: Any])?["manifest"] as? String == "acme-camera")
        // rbscan merge keeps them.
        let merged = try runProcess(rbscan, ["merge", dir.url("r.json"), "--format", "json", "--output", dir.url("merged.json")])
        #expect(merged.status == 1, "\(merged.stderr)")
        #expect(try json(dir.url("merged.json")).rules.first { $0["id"] as? String == "ACME-CAM-001" }?["manifest"] as? [String: String]
                == ["id": "acme-camera", "version": "1.4.0"])
        #expect(try validateSARIF(dir.url("r.sarif")).status == 0)

        let alone = try runProcess(rbscan, ["scan", example, dir.url("root"), "--rules", dir.url("acme"), "--no-shipped-rules",
                                            "--format", "json", "--output", dir.url("alone.json")])
        #expect(alone.status == 1, "\(alone.stderr)")
        #expect(try json(dir.url("alone.json")).rules.compactMap { $0["id"] as? String } == ["ACME-CAM-001"])
        // Naming the shipped directory as well (what the docs said before layering) changes nothing.
        let list = try runProcess(rbscan, ["rules", "list", "--rules", Repository.rules, "--rules", dir.url("acme")])
        let shippedCount = try shippedRuleCount()
        #expect(list.status == 0 && list.stdout.contains("\(shippedCount + 1) rules from 11 packs"), "\(list.stdout)\(list.stderr)")
    }

    /// A baseline selects a layered pack by its manifest id (all its packs) or by pack id, and
    /// overrides its rules by ID like the shipped ones.
    @Test func baselineSelectsALayeredPack() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme/manifest.yaml": .file(Self.acmeManifest),
            "acme/debug.yaml": .file(Self.acmePack),
            "acme-only.yaml": .file("""
                version: 1
                id: acme-only
                title: ACME's rules and the password pack
                packs: [acme-camera, passwords]
                failOn: high
                rules:
                  ACME-CAM-001: {severity: low, reason: tracked in ACME-1234}

                """),
        ], into: dir.path)
        let list = try runProcess(rbscan, ["rules", "list", "--rules", dir.url("acme"), "--baseline", dir.url("acme-only.yaml")])
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("ACME-CAM-001") && $0.contains("low") }, "\(list.stdout)")
        #expect(lines.contains { $0.hasPrefix("RB-PWD-") } && !lines.contains { $0.hasPrefix("RB-IFC-") }, "\(list.stdout)")
    }

    /// Problems of a manifest stop the run (exit 2) and name its file and line.
    @Test func unsupportedRBScanExitsTwoAtTheManifestLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme/manifest.yaml": .file(Self.acmeManifest.replacingOccurrences(of: ">=0.1, <1", with: ">=9")),
            "acme/debug.yaml": .file(Self.acmePack.replacingOccurrences(of: "ACME-CAM-001", with: "CORP-CAM-001")),
        ], into: dir.path)
        let result = try runProcess(rbscan, ["scan", example, "--rules", dir.url("acme")])
        #expect(result.status == 2)
        #expect(result.stderr.contains(dir.url("acme/manifest.yaml") + ":5:9: error: ") && result.stderr.contains("[pack.unsupported-rbscan]"), "\(result.stderr)")
        #expect(result.stderr.contains(dir.url("acme/debug.yaml") + ":5:5: error: CORP-CAM-001: ") && result.stderr.contains("[pack.prefix-mismatch]"))
    }

    /// A copy of the shipped rules given with --rules, as before layering: with their manifest it
    /// takes the shipped rules' place; without it every ID is a duplicate, and the message says
    /// how to load only the copy.
    @Test func aCopyOfTheShippedRules() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for name in try FileManager.default.contentsOfDirectory(atPath: Repository.rules) where name.hasSuffix(".yaml") {
            let text = try String(contentsOfFile: Repository.rules + "/" + name, encoding: .utf8)
            try FixtureWriter.write(["with-manifest/" + name: .file(text)], into: dir.path)
            if name != "manifest.yaml" { try FixtureWriter.write(["legacy/" + name: .file(text)], into: dir.path) }
        }
        let replaced = try runProcess(rbscan, ["rules", "lint", "--rules", dir.url("with-manifest")])
        let shipped = try shippedRuleCount()
        #expect(replaced.status == 0 && replaced.stdout.contains("10 packs, \(shipped) rules: 0 error(s)"), "\(replaced.stdout)\(replaced.stderr)")
        let legacy = try runProcess(rbscan, ["rules", "lint", "--rules", dir.url("legacy")])
        #expect(legacy.status == 2)
        #expect(legacy.stderr.contains("[rule.duplicate-id]") && legacy.stderr.contains("--no-shipped-rules"), "\(legacy.stderr)")
        let only = try runProcess(rbscan, ["rules", "lint", "--rules", dir.url("legacy"), "--no-shipped-rules"])
        #expect(only.status == 0, "\(only.stderr)")
    }

    /// The shipped packs' rule count, as `rules lint` of the shipped rules alone says it.
    func shippedRuleCount() throws -> Int {
        let lint = try runProcess(Repository.rbscanBinary, ["rules", "lint"])
        let words = lint.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
        let index = try #require(words.firstIndex(of: "rules:"))
        return try #require(Int(words[index - 1]))
    }
}

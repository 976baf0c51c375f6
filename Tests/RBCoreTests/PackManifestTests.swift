import RBCore
import RBTestSupport
import Testing

/// A rule of `id` in the test pack format (the probe check), for directories built per test.
func packText(_ pack: String, ids: [String]) -> String {
    "version: 1\npack: \(pack)\ntitle: \(pack)\nrules:\n" + ids.map { id in
        """
          - id: \(id)
            title: Probe
            category: SYS
            severity: medium
            description: d
            remediation: r
            targets: [firmware]
            check: test.probe
            options: {path: etc/x, fail: true}

        """
    }.joined()
}

func manifestText(id: String = "acme-camera", version: String = "1.4.0", prefix: String = "ACME",
                  rbscan: String = ">=0.1, <1") -> String {
    "format: 1\nid: \(id)\nversion: \(version)\nprefix: \(prefix)\nrbscan: \"\(rbscan)\"\ntitle: ACME camera rules\n"
}

@Suite("Pack manifests: validation with file:line, prefixes, layering over the shipped rules")
struct PackManifestTests {
    func parse(_ text: String, rbscan: String = "0.1.0") -> (PackManifest?, [Diagnostic]) {
        PackManifest.parse(text: text, file: "acme/manifest.yaml", rbscanVersion: rbscan)
    }

    @Test func aValidManifest() throws {
        let (manifest, diagnostics) = parse(manifestText())
        #expect(diagnostics.isEmpty)
        let m = try #require(manifest)
        #expect(m.id == "acme-camera" && m.version == "1.4.0" && m.prefix == "ACME" && m.title == "ACME camera rules")
        #expect(m.prefixLocation.description == "acme/manifest.yaml:4:9")
        #expect(m.covers("ACME-CAM-001") && m.covers("ACME-NVR-WEB-0042") && m.covers("ACME-001"))
        #expect(!m.covers("ACMEX-CAM-001") && !m.covers("RB-SYS-001") && !m.covers("ACME-CAM-01"))
    }

    /// Each broken field is named at its value's line and column, with its own code.
    @Test(arguments: [
        (manifestText(version: "1.4"), "pack.bad-version", 3, 10),
        (manifestText(version: "v1.4.0"), "pack.bad-version", 3, 10),
        (manifestText(id: "ACME"), "pack.bad-id", 2, 5),
        (manifestText(prefix: "acme"), "pack.bad-prefix", 4, 9),
        (manifestText(prefix: "A"), "pack.bad-prefix", 4, 9),
        (manifestText(prefix: "RB"), "pack.bad-prefix", 4, 9),
        (manifestText(prefix: "RB-ACME"), "pack.bad-prefix", 4, 9),
        (manifestText(rbscan: ">=zero"), "pack.bad-rbscan", 5, 9),
        (manifestText(rbscan: ">=0.1,"), "pack.bad-rbscan", 5, 9),
        (manifestText(rbscan: ">=1.0, <2"), "pack.unsupported-rbscan", 5, 9),
        (manifestText() + "homepage: x\n", "yaml.unknown-key", 7, 1),
        ("format: 2\nid: x\n", "pack.unsupported-format", 1, 9),
        ("format: 1\nid: acme\nversion: 1.0.0\nrbscan: \">=0.1\"\n", "yaml.missing-key", 1, 1),
        ("version: 1\npack: system\ntitle: t\nrules: []\n", "pack.manifest-is-a-pack", 2, 1),
    ])
    func invalidManifestsNameTheirLine(text: String, code: String, line: Int, column: Int) throws {
        let (_, diagnostics) = parse(text)
        let d = try #require(diagnostics.first, "\(text)")
        #expect(d.code == code, "\(d)")
        #expect(d.level == .error)
        #expect(d.location?.file == "acme/manifest.yaml" && d.location?.line == line && d.location?.column == column, "\(d)")
    }

    /// The shipped Rules/ are released with rbscan: their manifest carries its version.
    @Test func theShippedRulesHaveAManifest() throws {
        let (manifest, diagnostics) = PackManifest.load(directory: Repository.rules)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let shipped = try #require(manifest)
        #expect(shipped.id == PackManifest.shippedID && shipped.prefix == "RB")
        #expect(shipped.version == RBScanVersion.current, "bump Rules/manifest.yaml's version (and its rbscan range) with rbscan's")
    }

    /// The shipped rules alone may use RB, and only under their own id.
    @Test func rbIsReservedToTheShippedRules() {
        #expect(parse(manifestText(id: "rbscan", prefix: "RB")).1.isEmpty)
        let (manifest, _) = parse(manifestText(id: "rbscan", prefix: "RB"))
        #expect(manifest?.covers("RB-SYS-001") == true && manifest?.covers("RB-CAM-001") == false)
    }

    @Test func versionRequirements() throws {
        let range = try VersionRequirement(parsing: ">=0.9, <2")
        #expect(range.isSatisfied(by: "0.9.0") && range.isSatisfied(by: "1.99.3") && range.isSatisfied(by: "0.10.0"))
        #expect(!range.isSatisfied(by: "0.8.9") && !range.isSatisfied(by: "2.0.0"))
        // A pre-release sorts before its release.
        #expect(range.isSatisfied(by: "2.0.0-rc.1") && !range.isSatisfied(by: "0.9.0-dev"))
        #expect(try VersionRequirement(parsing: "0.1.0").isSatisfied(by: "0.1.0"))
        #expect(try VersionRequirement(parsing: "==0.1").isSatisfied(by: "0.1.0"))
        #expect(try !VersionRequirement(parsing: ">0.1").isSatisfied(by: "0.1.0"))
        #expect(try VersionRequirement(parsing: "<=0.1").isSatisfied(by: "0.1.0"))
        #expect(range.description == ">=0.9, <2")
    }

    /// Every rule of a directory with a manifest is in its prefix: one outside is an error at the
    /// rule's file:line; the others carry the manifest's id and version.
    @Test func rulesOutsideThePrefixAreErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme/manifest.yaml": .file(manifestText()),
            "acme/camera.yaml": .file(packText("acme-camera", ids: ["ACME-CAM-001", "CORP-CAM-002"])),
        ], into: dir.path)
        let (packs, diagnostics) = RuleLoader(registry: probeRegistry).load(directories: [dir.url("acme")])
        let mismatch = try #require(diagnostics.first { $0.code == "pack.prefix-mismatch" })
        #expect(diagnostics.count == 1, "\(diagnostics)")
        #expect(mismatch.ruleID == "CORP-CAM-002" && mismatch.level == .error)
        #expect(mismatch.location?.file == dir.url("acme/camera.yaml") && mismatch.location?.line == 14, "\(mismatch)")
        #expect(mismatch.message.contains("ACME"))
        let pack = try #require(packs.first)
        #expect(pack.manifest?.id == "acme-camera")
        #expect(pack.rules.first?.manifest == ManifestReference(id: "acme-camera", version: "1.4.0"))
        // The manifest itself is not read as a pack.
        #expect(packs.count == 1)
    }

    @Test func unsupportedRBScanIsAnErrorButTheRulesStillLoad() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "acme/manifest.yaml": .file(manifestText(rbscan: ">=3")),
            "acme/camera.yaml": .file(packText("acme-camera", ids: ["ACME-CAM-001"])),
        ], into: dir.path)
        let (packs, diagnostics) = RuleLoader(registry: probeRegistry).load(directories: [dir.url("acme")])
        let d = try #require(diagnostics.first)
        #expect(diagnostics.count == 1 && d.code == "pack.unsupported-rbscan" && d.level == .error)
        #expect(d.location?.description == dir.url("acme/manifest.yaml") + ":5:9")
        #expect(d.message.contains(">=3") && d.message.contains(RBScanVersion.current))
        #expect(packs.first?.rules.count == 1)
    }

    /// Two packs may not share a namespace, nor overlap (ACME and ACME-CAM); one pack split over
    /// two directories at one version may; the same pack at two versions may not.
    @Test func prefixesAndIDsAcrossDirectories() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "a/manifest.yaml": .file(manifestText()),
            "a/a.yaml": .file(packText("a", ids: ["ACME-CAM-001"])),
            "b/manifest.yaml": .file(manifestText(id: "other-vendor", prefix: "ACME")),
            "b/b.yaml": .file(packText("b", ids: ["ACME-CAM-002"])),
            "c/manifest.yaml": .file(manifestText(id: "acme-nvr", prefix: "ACME-NVR")),
            "c/c.yaml": .file(packText("c", ids: ["ACME-NVR-001"])),
            "d/manifest.yaml": .file(manifestText()),
            "d/d.yaml": .file(packText("d", ids: ["ACME-CAM-003"])),
            "e/manifest.yaml": .file(manifestText(version: "1.5.0")),
            "e/adapters/x.yaml": .file("version: 1\nadapter: x\ntitle: x\nfiles: ['**/*.xml']\nkeys: {}\n"),
            "f/manifest.yaml": .file(manifestText(id: "corp", prefix: "CORP")),
            "f/f.yaml": .file(packText("f", ids: ["CORP-CAM-001"])),
        ], into: dir.path)
        let loader = RuleLoader(registry: probeRegistry)
        let (_, clash) = loader.load(directories: [dir.url("a"), dir.url("b")])
        let same = try #require(clash.first)
        #expect(clash.count == 1 && same.code == "pack.duplicate-prefix", "\(clash)")
        #expect(same.location?.description == dir.url("b/manifest.yaml") + ":4:9")
        #expect(same.message.contains("acme-camera") && same.message.contains(dir.url("a/manifest.yaml") + ":4:9"))
        let (_, overlap) = loader.load(directories: [dir.url("a"), dir.url("c")])
        #expect(overlap.map(\.code) == ["pack.duplicate-prefix"], "\(overlap)")
        let (split, fine) = loader.load(directories: [dir.url("a"), dir.url("d")])
        #expect(fine.isEmpty, "\(fine)")
        #expect(split.flatMap(\.rules).count == 2)
        let (_, versions) = loader.load(directories: [dir.url("a"), dir.url("e")])
        #expect(versions.map(\.code) == ["pack.duplicate-id"], "\(versions)")
        #expect(loader.load(directories: [dir.url("a"), dir.url("f")]).diagnostics.isEmpty)
    }

    /// A directory without a manifest loads as before; a rule of it inside a prefix another
    /// directory's manifest declares is a warning, not an error.
    @Test func directoriesWithoutAManifestStillLoad() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "a/manifest.yaml": .file(manifestText()),
            "a/a.yaml": .file(packText("a", ids: ["ACME-CAM-001"])),
            "legacy/legacy.yaml": .file(packText("legacy", ids: ["ACME-CAM-002", "CORP-CAM-001"])),
        ], into: dir.path)
        let (packs, diagnostics) = RuleLoader(registry: probeRegistry).load(directories: [dir.url("a"), dir.url("legacy")])
        #expect(packs.flatMap(\.rules).count == 3)
        let d = try #require(diagnostics.first)
        #expect(diagnostics.count == 1 && d.code == "pack.prefix-claimed" && d.level == .warning && d.ruleID == "ACME-CAM-002", "\(diagnostics)")
        #expect(packs.first { $0.id == "legacy" }?.rules.allSatisfy { $0.manifest == nil } == true)
    }

    /// A folder of adapters alone (or with only a manifest beside them) is a rules directory; a
    /// folder with neither packs nor adapters is still refused.
    @Test func adapterOnlyDirectories() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "adapters-only/adapters/acme.yaml": .file("version: 1\nadapter: acme\ntitle: ACME\nfiles: ['**/acme.xml']\nkeys: {}\n"),
            "manifest-only/manifest.yaml": .file(manifestText()),
            "empty/adapters/README": .file("nothing\n"),
        ], into: dir.path)
        let loader = RuleLoader(registry: probeRegistry)
        let (packs, diagnostics) = loader.load(directories: [dir.url("adapters-only")])
        #expect(packs.isEmpty && diagnostics.isEmpty, "\(diagnostics)")
        for folder in ["manifest-only", "empty"] {
            let (_, refused) = loader.load(directories: [dir.url(folder)])
            #expect(refused.map(\.code) == ["rules.empty-directory"], "\(folder): \(refused)")
        }
        #expect(ConfigAdapters.load(ruleDirectories: [dir.url("adapters-only")]).0.adapters.map(\.adapter) == ["acme"])
    }

    /// --rules directories layer over the shipped Rules/: shipped first, each directory once
    /// however spelt; --no-shipped-rules leaves it out; a copy of the shipped rules (manifest id
    /// rbscan) takes its place.
    @Test func layering() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "shipped/manifest.yaml": .file(manifestText(id: "rbscan", prefix: "RB")),
            "shipped/s.yaml": .file(packText("s", ids: ["RB-SYS-001"])),
            "fork/manifest.yaml": .file(manifestText(id: "rbscan", version: "0.1.1", prefix: "RB")),
            "acme/a.yaml": .file(packText("a", ids: ["ACME-CAM-001"])),
            "plugin/rules/p.yaml": .file(packText("p", ids: ["PLUG-SYS-001"])),
        ], into: dir.path)
        let shipped = dir.url("shipped")
        func layered(includeShipped: Bool = true, _ given: [String], plugins: [String] = []) -> ([String], [String]) {
            let (directories, diagnostics) = RuleDirectories.layered(shipped: shipped, includeShipped: includeShipped,
                                                                     given: given, plugins: plugins)
            return (directories, diagnostics.map(\.code))
        }
        #expect(layered([]) == ([shipped], []))
        #expect(layered([dir.url("acme")], plugins: [dir.url("plugin/rules")]) == ([shipped, dir.url("acme"), dir.url("plugin/rules")], []))
        // The shipped directory named again (`--rules Rules`, as the docs once said) loads once.
        #expect(layered([dir.url("shipped/"), dir.url("acme"), dir.url("acme/../acme")]) == ([dir.url("shipped/"), dir.url("acme")], []))
        #expect(layered(includeShipped: false, [dir.url("acme")]) == ([dir.url("acme")], []))
        #expect(layered(includeShipped: false, []) == ([], ["rules.none"]))
        #expect(layered([dir.url("fork"), dir.url("acme")]) == ([dir.url("fork"), dir.url("acme")], []))
        // The shipped rules cannot be found: an error when nothing else is given, else a warning.
        #expect(RuleDirectories.layered(shipped: nil, given: []).diagnostics.map(\.level) == [.error])
        let missing = RuleDirectories.layered(shipped: nil, given: [dir.url("acme")])
        #expect(missing.directories == [dir.url("acme")] && missing.diagnostics.map(\.level) == [.warning])
    }
}

import Foundation
import RBTestSupport
import Testing

/// A fleet of 50 targets — 30 root directories, 6 tar and 6 squashfs images, 8 TLS endpoints
/// (openssl s_server on 127.0.0.1, two pairs sharing a key) — in an inventory, scanned once
/// whole and once as 3 shards merged with `rbscan merge`: the same findings, fleet rules
/// included (RB-PWD-007: 10 images with one root hash; RB-TLS-009: the key pairs).
@Suite("Fleets: inventory, --shard, merge", .serialized)
struct FleetTests {
    let rbscan = Repository.rbscanBinary

    /// A fixed MD5-crypt hash shared by the first 10 roots (a universal password), and distinct ones.
    static let sharedHash = "$1$fleet000$Y6W2tf9xqYg0q6sj7pQ4b/"

    func writeRoot(_ path: String, index i: Int) throws {
        let hash = i < 10 ? Self.sharedHash : "$1$fleet\(String(format: "%03d", i))$Y6W2tf9xqYg0q6sj7pQ4b/"
        var files: [String: FixtureWriter.Item] = [
            "etc/passwd": .file("root:x:0:0:root:/root:/bin/sh\n"),
            "etc/shadow": .file("root:\(hash):19000:0:99999:7:::\n"),
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n" + (i % 3 == 0 ? "::respawn:/usr/sbin/telnetd -F\n" : "")),
            "etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.10\nntpd -p pool.ntp.org\n", mode: 0o755),
            "etc/version": .file("camera firmware \(i)\n"),
        ]
        if i % 4 == 1 { files["etc/sysctl.conf"] = .file("kernel.randomize_va_space = \(i % 2)\n") }
        if i % 5 == 0 { files["var/lib/dpkg/status"] = .file("Package: camd\nStatus: install ok installed\nVersion: 1.\(i)\n\n") }
        try FixtureWriter.write(files, into: path)
    }

    func findings(_ json: String) throws -> [String] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let targets = (document["targets"] as? [[String: Any]] ?? []).map { "\($0["spec"] ?? "")|\($0["name"] ?? "")" }
        return (document["findings"] as? [[String: Any]] ?? []).map { f in
            "\(targets[f["target"] as? Int ?? 0]) \(f["ruleId"] ?? "") \(f["status"] ?? "") \(f["severity"] ?? "") \(f["path"] ?? ""):\(f["line"] ?? "-") \(f["fingerprint"] ?? "") \(f["message"] ?? "")"
        }.sorted()
    }

    @Test("50 targets sharded 3 ways and merged give the same findings as one unsharded run, fleet rules included")
    func shardedEqualsUnsharded() throws {
        let work = try TemporaryDirectory(prefix: "rbscan-fleet")
        defer { work.remove() }
        var servers: [TLSTestServer] = []
        defer { servers.forEach { $0.stop() } }
        for i in 0..<8 {
            // Servers 1 and 3 serve the keys of 0 and 2: cloned device keys.
            servers.append(try TLSTestServer([], keySpec: "ec -pkeyopt ec_paramgen_curve:P-256", sharing: i == 1 || i == 3 ? servers[i - 1] : nil))
        }
        var inventory = "version: 1\ntargets:\n"
        for i in 0..<42 {
            let root = work.url("roots/cam\(i)")
            try writeRoot(root, index: i)
            var target = "roots/cam\(i)"
            if i >= 30 {
                let image = i < 36 ? "images/cam\(i).tar.gz" : "images/cam\(i).sqsh"
                _ = try ImageFixtures.sh(i < 36 ? "mkdir -p images && tar -czf \(image) -C roots/cam\(i) ."
                                                : "mkdir -p images && mksquashfs roots/cam\(i) \(image) -noappend -quiet -all-root >/dev/null",
                                         in: work.path)
                target = image
            }
            inventory += "  - {name: cam-\(i), target: \(target), tags: [\(i % 2 == 0 ? "lobby" : "yard")]}\n"
        }
        for (i, server) in servers.enumerated() { inventory += "  - {name: nvr-\(i), target: \"\(server.uri)\", tags: [nvr]}\n" }
        try inventory.write(toFile: work.url("fleet.yaml"), atomically: true, encoding: .utf8)
        // One secret key for every run: password hashes are compared across shards by HMAC.
        try Data("fleet-secret-key-for-this-test".utf8).write(to: URL(fileURLWithPath: work.url("secret.key")))
        let common = ["--inventory", work.url("fleet.yaml"), "--fail-on", "never", "--crack-seconds", "20", "--quiet",
                      "--secret-key-file", work.url("secret.key")]

        let whole = try runProcess(rbscan, ["scan"] + common + ["--format", "json", "--output", work.url("whole.json")])
        #expect(whole.status == 0, "\(whole.stderr)")
        var shards: [String] = []
        for i in 1...3 {
            let shard = work.url("shard\(i).json")
            let result = try runProcess(rbscan, ["scan"] + common + ["--shard", "\(i)/3", "--format", "json", "--output", shard])
            #expect(result.status == 0, "\(result.stderr)")
            shards.append(shard)
        }
        let merged = try runProcess(rbscan, ["merge"] + shards + ["--format", "json", "--output", work.url("merged.json"), "--fail-on", "never",
                                                                 "--format", "sarif", "--output", work.url("merged.sarif"),
                                                                 "--format", "junit", "--output", work.url("merged.junit.xml"),
                                                                 "--output", work.url("fleet.cdx.json")])
        #expect(merged.status == 0, "\(merged.stderr)")
        // The fleet's SBOM from the shards' JSON reports: valid CycloneDX with the package of
        // every image that has one (9 of the 42, each its own version).
        let bom = try validateCycloneDX(work.url("fleet.cdx.json"))
        #expect(bom.status == 0, "\(bom.stdout)\(bom.stderr)")
        let sbom = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.url("fleet.cdx.json")))) as? [String: Any])
        let versions = (sbom["components"] as? [[String: Any]] ?? []).filter { $0["name"] as? String == "camd" }.compactMap { $0["version"] as? String }
        #expect(Set(versions) == Set(stride(from: 0, to: 42, by: 5).map { "1.\($0)" }), "\(versions)")
        let sarif = try validateSARIF(work.url("merged.sarif"))
        #expect(sarif.status == 0, "\(sarif.stdout)\(sarif.stderr)")
        // Merging the merged SARIF's own shards back through SARIF works too.
        #expect(try runProcess(rbscan, ["merge", work.url("merged.sarif"), "--fail-on", "never", "--format", "json"]).status == 0)

        let expected = try findings(String(contentsOfFile: work.url("whole.json"), encoding: .utf8))
        let actual = try findings(String(contentsOfFile: work.url("merged.json"), encoding: .utf8))
        #expect(expected.count > 100)
        #expect(actual == expected, "only unsharded: \(Set(expected).subtracting(actual).prefix(5)); only merged: \(Set(actual).subtracting(expected).prefix(5))")
        let wholeDocument = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.url("whole.json")))) as? [String: Any])
        #expect((wholeDocument["targets"] as? [Any])?.count == 50)

        // The fleet findings: 10 roots share a password hash, two pairs of endpoints a key.
        let passwordFleet = expected.filter { $0.contains(" RB-PWD-007 ") && $0.contains("same password hash as in 9 other") }
        #expect(passwordFleet.count == 10, "\(passwordFleet.prefix(3))")
        let keyFleet = expected.filter { $0.contains(" RB-TLS-009 ") && $0.contains("also used by 1 other device") }
        #expect(keyFleet.count == 4, "\(keyFleet)")
        // A single shard cannot see them all: merging recomputes the fleet rules.
        let firstShard = try findings(String(contentsOfFile: shards[0], encoding: .utf8))
        #expect(!firstShard.contains { $0.contains("same password hash as in 9 other") })
        // Without a key, shards write no password digest: the merge cannot see the reuse and says so.
        var keyless: [String] = []
        for i in 1...3 {
            let shard = work.url("keyless\(i).json")
            let result = try runProcess(rbscan, ["scan"] + common.dropLast(2) + ["--shard", "\(i)/3", "--format", "json", "--output", shard])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!(try String(contentsOfFile: shard, encoding: .utf8)).contains("\"digest\" :"), "a keyless shard wrote digests")
            keyless.append(shard)
        }
        let keylessMerge = try runProcess(rbscan, ["merge"] + keyless + ["--format", "json", "--fail-on", "never"])
        #expect(keylessMerge.stdout.contains("fleet.password-digests-withheld"))
        #expect(!keylessMerge.stdout.contains("same password hash as in 9 other"))
        // Inventory names and tags reach the report.
        #expect(expected.contains { $0.contains("|cam-0 ") } && expected.contains { $0.contains("|nvr-1 ") })
    }

    @Test("RB-PKG-006 fleet side: a debug and a release image trusting one opkg signing key is a review result on the debug image; separate keys are not")
    func debugAndReleaseKeys() throws {
        let work = try TemporaryDirectory(prefix: "rbscan-debugkeys")
        defer { work.remove() }
        _ = try ImageFixtures.sh("""
            signify-openbsd -G -n -p shared.pub -s shared.sec -c "build key"
            signify-openbsd -G -n -p other.pub -s other.sec -c "debug key"
            for r in debug release other; do mkdir -p $r/etc/opkg/keys; done
            cp shared.pub debug/etc/opkg/keys/build; cp shared.pub release/etc/opkg/keys/build; cp other.pub other/etc/opkg/keys/build
            """, in: work.path)
        func pkg006(_ entries: [(String, String, String)]) throws -> [String] {
            let inventory = "version: 1\ntargets:\n" + entries.map { "  - {name: \($0.0), target: \($0.1), tags: [\($0.2)]}\n" }.joined()
            try inventory.write(toFile: work.url("inv.yaml"), atomically: true, encoding: .utf8)
            let result = try runProcess(rbscan, ["scan", "--inventory", work.url("inv.yaml"), "--fail-on", "never", "--quiet", "--format", "json"])
            #expect(result.status == 0, "\(result.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let targets = (document["targets"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
            return (document["findings"] as? [[String: Any]] ?? []).filter { $0["ruleId"] as? String == "RB-PKG-006" }
                .map { "\(targets[$0["target"] as? Int ?? 0]) \($0["status"] ?? "") \($0["path"] ?? "")" }
        }
        #expect(try pkg006([("cam-debug", "debug", "debug"), ("cam-release", "release", "release")]) == ["cam-debug review etc/opkg/keys/build"])
        #expect(try pkg006([("cam-debug", "other", "debug"), ("cam-release", "release", "release")]) == [])
    }

    @Test("Every format names a target by its inventory name (else the image file and filesystem), the container chain kept as a property")
    func targetNamesInEveryFormat() throws {
        let work = try TemporaryDirectory(prefix: "rbscan-names")
        defer { work.remove() }
        try writeRoot(work.url("root"), index: 0)
        // A filesystem two containers deep: squashfs in a uImage.
        try ImageFixtures.sh("""
            mksquashfs root fs.sqfs -comp xz -noappend -quiet && \
            mkimage -A arm -O linux -T filesystem -C none -n rootfs -d fs.sqfs cam.uimage >/dev/null
            """, in: work.path)
        try "version: 1\ntargets:\n  - {name: cam-lobby-01, target: cam.uimage, tags: [lobby]}\n".write(toFile: work.url("fleet.yaml"), atomically: true, encoding: .utf8)
        func outputs(_ arguments: [String], prefix: String) throws -> [String: String] {
            let formats = ["text": "txt", "junit": "junit.xml", "markdown": "md", "sarif": "sarif", "json": "json", "html": "html"]
            var argv = ["scan"] + arguments + ["--fail-on", "never", "--quiet"]
            for (format, ext) in formats { argv += ["--format", format, "--output", work.url("\(prefix).\(ext)")] }
            let result = try runProcess(rbscan, argv)
            #expect(result.status == 0, "\(result.stderr)")
            return try formats.mapValues { try String(contentsOfFile: work.url("\(prefix).\($0)"), encoding: .utf8) }
        }
        for (arguments, prefix, label) in [(["--inventory", work.url("fleet.yaml")], "named", "cam-lobby-01"),
                                           ([work.url("cam.uimage")], "plain", "cam.uimage → squashfs@0x40")] {
            let out = try outputs(arguments, prefix: prefix)
            #expect(out["text"]?.contains("target \(label) [\(work.url("cam.uimage")) → uImage@0x0 → squashfs@0x40] (firmware)") == true, "\(out["text"] ?? "")")
            #expect(out["junit"]?.contains("<testsuite name=\"\(label)\"") == true)
            #expect(out["markdown"]?.contains("**\(label)**") == true)
            #expect(out["html"]?.contains(label) == true)
            let sarif = try #require(try JSONSerialization.jsonObject(with: Data((out["sarif"] ?? "").utf8)) as? [String: Any])
            let run = try #require((sarif["runs"] as? [[String: Any]])?.first)
            let properties = (run["results"] as? [[String: Any]] ?? []).compactMap { $0["properties"] as? [String: Any] }
            #expect(!properties.isEmpty && properties.allSatisfy { $0["targetName"] as? String == label })
            #expect(properties.allSatisfy { ($0["target"] as? String ?? "").hasSuffix("cam.uimage → uImage@0x0 → squashfs@0x40") }, "the chain stays a property")
            let artifacts = run["artifacts"] as? [[String: Any]] ?? []
            #expect(artifacts.contains { ($0["description"] as? [String: Any])?["text"] as? String == label })
            let json = try #require(try JSONSerialization.jsonObject(with: Data((out["json"] ?? "").utf8)) as? [String: Any])
            #expect((json["targets"] as? [[String: Any]])?.first?["label"] as? String == label)
        }
    }

    @Test("Inventory and --shard errors: malformed inventory names file:line, bad shard and no target are usage errors")
    func inventoryErrors() throws {
        let work = try TemporaryDirectory(prefix: "rbscan-badinv")
        defer { work.remove() }
        try "version: 1\ntargets:\n  - {name: a, target: x}\n  - {name: a, target: y}\n".write(toFile: work.url("inv.yaml"), atomically: true, encoding: .utf8)
        let duplicate = try runProcess(rbscan, ["scan", "--inventory", work.url("inv.yaml")])
        #expect(duplicate.status == 2 && duplicate.stderr.contains("inv.yaml:4") && duplicate.stderr.contains("duplicate"), "\(duplicate.stderr)")
        try "version: 1\ntargets:\n  - {name: a, target: x, colour: red}\n".write(toFile: work.url("inv.yaml"), atomically: true, encoding: .utf8)
        let unknown = try runProcess(rbscan, ["scan", "--inventory", work.url("inv.yaml")])
        #expect(unknown.status == 2 && unknown.stderr.contains("inv.yaml:3"), "\(unknown.stderr)")
        #expect(try runProcess(rbscan, ["scan", Repository.root + "/Examples/camera-rootfs", "--shard", "4/3"]).status == 2)
        #expect(try runProcess(rbscan, ["scan"]).status == 2)
    }
}

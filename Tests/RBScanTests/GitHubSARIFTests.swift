import Foundation
import RBTestSupport
import Testing

/// `--format sarif-github` against GitHub code scanning's documented ingestion rules
/// (scripts/validate-github-sarif.py cites them), on a Buildroot-style repository: a rootfs
/// overlay under `board/acme/rootfs-overlay`, the image it went into under `output/images`.
@Suite("SARIF for GitHub code scanning")
struct GitHubSARIFTests {
    let rbscan = Repository.rbscanBinary

    func validate(_ sarif: String, repo: String) throws {
        let github = try runProcess("/usr/bin/python3", [Repository.root + "/scripts/validate-github-sarif.py", sarif, "--repo", repo])
        #expect(github.status == 0, "\(github.stdout)\(github.stderr)")
        let shared = Repository.root + "/../shared/schemas/sarif-schema-2.1.0.json"
        let vendored = Repository.root + "/Tests/RBReportTests/Schemas/sarif-schema-2.1.0.json"
        let schema = FileManager.default.fileExists(atPath: shared) ? shared : vendored
        let official = try runProcess("/usr/bin/python3", [Repository.root + "/scripts/validate-sarif.py", schema, sarif])
        #expect(official.status == 0, "\(official.stdout)\(official.stderr)")
    }

    func runs(_ path: String) throws -> [[String: Any]] {
        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        return log?["runs"] as? [[String: Any]] ?? []
    }

    func results(_ run: [String: Any]) -> [[String: Any]] { run["results"] as? [[String: Any]] ?? [] }

    func uri(_ result: [String: Any]) -> String {
        let locations = result["locations"] as? [[String: Any]]
        let physical = locations?.first?["physicalLocation"] as? [String: Any]
        return (physical?["artifactLocation"] as? [String: Any])?["uri"] as? String ?? ""
    }

    func line(_ result: [String: Any]) -> Int? {
        let locations = result["locations"] as? [[String: Any]]
        let physical = locations?.first?["physicalLocation"] as? [String: Any]
        return (physical?["region"] as? [String: Any])?["startLine"] as? Int
    }

    @Test func buildrootOverlayAndImagesFollowGitHubsRules() throws {
        let repo = try TemporaryDirectory(prefix: "rbscan-gh-repo")
        defer { repo.remove() }
        let overlay = "board/acme/rootfs-overlay"
        try FixtureWriter.write([
            "\(overlay)/etc/inittab": .file("::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F -l /bin/sh\n"),
            "\(overlay)/etc/shadow": .file("root::0:0:99999:7:::\n", mode: 0o600),
        ], into: repo.path)
        // The image: the overlay plus what packages installed (a SUID BusyBox, not in the repository).
        try ImageFixtures.sh("""
            mkdir -p build/rootfs output/images && cp -a \(overlay)/. build/rootfs/
            mkdir -p build/rootfs/bin && printf '\\177ELF BusyBox v1.36.1' > build/rootfs/bin/busybox && chmod 4755 build/rootfs/bin/busybox
            mksquashfs build/rootfs output/images/rootfs.squashfs -noappend -quiet -all-root
            cp output/images/rootfs.squashfs output/images/rootfs-debug.squashfs
            """, in: repo.path)
        let result = try runProcess(rbscan, ["scan", "output/images/rootfs.squashfs", "output/images/rootfs-debug.squashfs", "tls://127.0.0.1:1",
                                             "--format", "sarif-github", "--output", "r.sarif", "--format", "sarif", "--output", "full.sarif",
                                             "--path-prefix", overlay],
                                    currentDirectory: repo.path)
        #expect(result.status == 1, "\(result.stderr)")
        try validate(repo.url("r.sarif"), repo: repo.path)

        let all = try runs(repo.url("r.sarif"))
        // One run per image, distinct categories: the same finding in two images is two alerts.
        let ids = all.compactMap { ($0["automationDetails"] as? [String: Any])?["id"] as? String }
        #expect(ids == ["rbscan/rootfs.squashfs_squashfs/", "rbscan/rootfs-debug.squashfs_squashfs/"], "\(ids)")
        let first = results(all[0])
        // Files of the overlay are shown at their repository path and line.
        let telnet = try #require(first.first { ($0["ruleId"] as? String)?.hasPrefix("RB-IFC-001") == true })
        #expect(uri(telnet) == "\(overlay)/etc/inittab" && line(telnet) == 2, "\(telnet)")
        let shadow = first.filter { uri($0) == "\(overlay)/etc/shadow" }
        #expect(!shadow.isEmpty, "\(first.map(uri))")
        // A file only the image has sits on the image file, its in-image path leading the message.
        let suid = try #require(first.first { ($0["ruleId"] as? String)?.hasPrefix("RB-SYS-004") == true })
        #expect(uri(suid) == "output/images/rootfs.squashfs" && line(suid) == 1)
        #expect(((suid["message"] as? [String: Any])?["text"] as? String)?.hasPrefix("bin/busybox: ") == true)
        // Only failing results; the complete SARIF keeps the review and n/a ones.
        let kinds = Set(first.compactMap { $0["kind"] as? String })
        #expect(kinds.isEmpty)
        let full = try runs(repo.url("full.sarif"))
        #expect(results(full[0]).contains { $0["kind"] as? String == "notApplicable" })
        // An unreachable endpoint is a diagnostic, not a run of its own.
        #expect(all.count == 2)
    }

    /// A finding raised above its rule's severity gets a descriptor with that severity (GitHub
    /// reads security-severity on the rule only): dropbear allowing blank passwords (-B) is a
    /// critical RB-AUTH-008, whose rule is high.
    @Test func raisedSeverityHasItsOwnRule() throws {
        let repo = try TemporaryDirectory(prefix: "rbscan-gh-sev")
        defer { repo.remove() }
        try FixtureWriter.write(["rootfs/etc/inittab": .file("::respawn:/usr/sbin/telnetd -F -l /bin/sh\n"),
                                 "rootfs/etc/init.d/S50dropbear": .file("#!/bin/sh\n/usr/sbin/dropbear -B -R\n", mode: 0o755)], into: repo.path)
        let result = try runProcess(rbscan, ["scan", "rootfs", "--format", "sarif-github", "--output", "r.sarif", "--format", "json", "--output", "r.json"],
                                    currentDirectory: repo.path)
        #expect(result.status == 1, "\(result.stderr)")
        try validate(repo.url("r.sarif"), repo: repo.path)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: repo.url("r.json")))) as? [String: Any]
        let rules = Dictionary(uniqueKeysWithValues: (json?["rules"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["severity"] as? String ?? "") })
        let raised = (json?["findings"] as? [[String: Any]] ?? []).filter {
            $0["status"] as? String == "fail" && $0["severity"] as? String != rules[$0["ruleId"] as? String ?? ""]
        }
        #expect(raised.contains { $0["ruleId"] as? String == "RB-AUTH-008" && $0["severity"] as? String == "critical" }, "\(raised)")
        let run = try #require(try runs(repo.url("r.sarif")).first)
        let descriptors = ((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
        for finding in raised {
            let id = "\(finding["ruleId"] as? String ?? "")/\(finding["severity"] as? String ?? "")"
            #expect(descriptors.contains { $0["id"] as? String == id }, "\(id) in \(descriptors.map { $0["id"] ?? "" })")
        }
        // Paths inside a scanned directory of the repository are repository paths.
        #expect(results(run).allSatisfy { uri($0).hasPrefix("rootfs/") }, "\(results(run).map(uri))")
    }
}

/// The HTML compliance view says "pass" only for provisions whose every rule judged a scanned
/// target it applies to: a TLS-only scan must not pass ETSI 5.5-4 through RTSP/ONVIF rules that
/// never ran on anything (issue 18); those provisions read "not assessed" with the reason.
@Suite("Compliance view")
struct ComplianceViewTests {
    @Test func unassessedProvisionsAreNotPassed() throws {
        let server = try TLSTestServer(["-tls1_3"])
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try runProcess(Repository.rbscanBinary, ["scan", "tls://127.0.0.1:\(server.port)", "--fail-on", "never",
                                                              "--format", "html", "--output", dir.url("r.html"), "--format", "json", "--output", dir.url("r.json")])
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOfFile: dir.url("r.html"), encoding: .utf8)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.json")))) as? [String: Any]
        let tlsRules = Set((json?["rules"] as? [[String: Any]] ?? []).compactMap { rule -> String? in
            let checks = (rule["check"] as? String ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return !checks.isEmpty && checks.allSatisfy { $0.hasPrefix("tls.") } ? rule["id"] as? String : nil
        })
        #expect(!tlsRules.isEmpty)
        // Every row: its class and the rules it lists.
        let rows = html.components(separatedBy: "<tr class=\"c-").dropFirst().map { row -> (String, String, [String]) in
            let css = String(row.prefix { $0 != "\"" })
            let provision = row.range(of: "data-provision=\"").map { String(row[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""
            let rules = row.components(separatedBy: "<code>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            return (css, provision, rules)
        }
        #expect(rows.count > 20)
        for (css, provision, rules) in rows where css == "pass" {
            #expect(Set(rules).isSubset(of: tlsRules), "\(provision) passes through rules that judged nothing: \(Set(rules).subtracting(tlsRules))")
        }
        let etsi554 = rows.first { $0.1 == "5.5-4" }
        #expect(etsi554 != nil && etsi554?.0 != "pass", "\(String(describing: etsi554))")
        #expect(html.contains("not assessed") && html.contains("no scanned target these rules judge"))
    }
}

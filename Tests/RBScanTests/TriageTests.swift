import Foundation
import RBTestSupport
import Testing

/// Waivers, comparison with earlier results and the gates built on them, end to end on the
/// real binary: two runs over a root where one finding is fixed, one changes and one is new.
@Suite("Triage: waivers, baselineState, --fail-on-new", .serialized)
struct TriageTests {
    let rbscan = Repository.rbscanBinary

    func scan(_ arguments: [String]) throws -> ProcessResult { try runProcess(rbscan, ["scan"] + arguments) }

    /// Run 1: telnetd with a root shell (RB-IFC-001 high) and ASLR lowered (RB-SYS-001 medium).
    func firstRelease(_ root: TemporaryDirectory) throws {
        try FixtureWriter.write([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.10\nntpd -p pool.ntp.org\ntelnetd -l /bin/sh\n", mode: 0o755),
            "etc/sysctl.conf": .file("kernel.randomize_va_space = 1\n"),
            "etc/passwd": .file("root:x:0:0:root:/root:/bin/sh\n"),
        ], into: root.path)
    }

    /// Run 2: telnetd moved and changed (updated), ASLR fixed (absent), kptr_restrict lowered (new, low).
    func secondRelease(_ root: TemporaryDirectory) throws {
        try FixtureWriter.write([
            "etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.10\n\nntpd -p pool.ntp.org\ntelnetd -p 2323 -l /bin/login\n", mode: 0o755),
            "etc/sysctl.conf": .file("kernel.randomize_va_space = 2\nkernel.kptr_restrict = 0\n"),
        ], into: root.path)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func findings(_ document: [String: Any]) -> [[String: Any]] { document["findings"] as? [[String: Any]] ?? [] }

    @Test("baselineState across two runs (from a JSON and from a SARIF previous report): updated, absent, new, unchanged")
    func transitions() throws {
        let root = try TemporaryDirectory(prefix: "rbscan-triage")
        let out = try TemporaryDirectory(prefix: "rbscan-triage-out")
        defer { root.remove(); out.remove() }
        try firstRelease(root)
        let first = try scan([root.path, "--fail-on", "never", "--format", "json", "--output", out.url("r1.json"),
                              "--format", "sarif", "--output", out.url("r1.sarif")])
        #expect(first.status == 0, "\(first.stderr)")
        try secondRelease(root)
        for previous in ["r1.json", "r1.sarif"] {
            let second = try scan([root.path, "--compare", out.url(previous), "--fail-on", "never", "--format", "json"])
            #expect(second.status == 0, "\(second.stderr)")
            let states = findings(try json(second.stdout)).filter { $0["status"] as? String == "fail" }
                .map { "\($0["ruleId"] ?? "") \($0["baselineState"] ?? "-")" }.sorted()
            #expect(states == ["RB-IFC-001 updated", "RB-SYS-001 absent", "RB-SYS-006 new"], "\(previous): \(states)")
            let others = findings(try json(second.stdout)).filter { $0["status"] as? String != "fail" }
            #expect(!others.isEmpty && others.allSatisfy { $0["baselineState"] as? String == "unchanged" }, "\(others)")
            let absent = try #require(findings(try json(second.stdout)).first { $0["baselineState"] as? String == "absent" })
            #expect(absent["gating"] as? Bool == false && absent["path"] as? String == "etc/sysctl.conf")
        }
        // The SARIF of a compared run carries baselineState and validates.
        let sarif = out.url("r2.sarif")
        #expect(try scan([root.path, "--compare", out.url("r1.json"), "--fail-on", "never", "--output", sarif]).status == 0)
        #expect(try validateSARIF(sarif).status == 0)
        let log = try json(String(contentsOfFile: sarif, encoding: .utf8))
        let results = ((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]) ?? []
        #expect(Set(results.compactMap { $0["baselineState"] as? String }) == ["new", "unchanged", "updated", "absent"])
    }

    /// States per rule and path, for the assertions below.
    func states(_ document: [String: Any]) -> [String] {
        findings(document).map { "\($0["baselineState"] ?? "-") \($0["ruleId"] ?? "") \($0["path"] ?? "")" }.sorted()
    }

    @Test("A one-line fix moves other findings' lines and changes their messages' details: only the fixed finding is absent, none is updated")
    func oneLineFix() throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-triage-fix")
        defer { dir.remove() }
        // The bundled example camera root: rcS lowers ASLR on line 4, then starts lighttpd on
        // line 6, which RB-DAT-001's message names (`etc/init.d/rcS:6`); RB-AUD-004's message
        // counts the boot commands read.
        try ImageFixtures.sh("cp -a '\(Repository.root)/Examples/camera-rootfs' root", in: dir.path)
        #expect(try scan([dir.url("root"), "--fail-on", "never", "--format", "json", "--output", dir.url("r1.json"),
                          "--format", "sarif", "--output", dir.url("r1.sarif")]).status == 0)
        try ImageFixtures.sh("sed -i '/randomize_va_space/d' root/etc/init.d/rcS", in: dir.path)
        let before = try json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir.url("r1.json"))), as: UTF8.self))
        for previous in ["r1.json", "r1.sarif"] {
            let second = try scan([dir.url("root"), "--compare", dir.url(previous), "--fail-on", "never", "--format", "json"])
            #expect(second.status == 0, "\(second.stderr)")
            let after = try json(second.stdout)
            let changed = states(after).filter { !$0.hasPrefix("unchanged ") }
            #expect(changed == ["absent RB-SYS-001 etc/init.d/rcS"], "\(previous): \(changed)")
            // The test holds only if messages did change under the fix: a line number and a count.
            func message(_ document: [String: Any], _ rule: String) -> String? {
                findings(document).first { $0["ruleId"] as? String == rule && $0["baselineState"] as? String != "absent" }?["message"] as? String
            }
            for rule in ["RB-DAT-001", "RB-AUD-004"] {
                let old = try #require(message(before, rule)), new = try #require(message(after, rule))
                #expect(old != new, "\(rule): the fixture no longer changes this message")
            }
        }
    }

    @Test("Evidence states survive a SARIF report read back by merge: a comparison against it sees the same evidence")
    func evidenceStateThroughSARIF() throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-triage-sarif")
        defer { dir.remove() }
        let example = Repository.root + "/Examples/camera-rootfs"
        #expect(try scan([example, "--fail-on", "never", "--format", "json", "--output", dir.url("r.json"),
                          "--format", "sarif", "--output", dir.url("r.sarif")]).status == 0)
        let merged = try runProcess(rbscan, ["merge", dir.url("r.sarif"), "--fail-on", "never", "--format", "json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        func states(_ document: [String: Any]) -> [String: String] {
            Dictionary(findings(document).compactMap { f in (f["fingerprint"] as? String).map { ($0, f["evidenceState"] as? String ?? "") } },
                       uniquingKeysWith: { a, _ in a })
        }
        let direct = states(try json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir.url("r.json"))), as: UTF8.self)))
        let read = states(try json(merged.stdout))
        #expect(!direct.isEmpty && read == direct, "\(direct.filter { read[$0.key] != $0.value })")
    }

    @Test("Rewording rule messages changes no finding's identity or state")
    func rewordedMessages() throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-triage-reword")
        defer { dir.remove() }
        try ImageFixtures.sh("cp -a '\(Repository.root)/Examples/camera-rootfs' root && cp -a '\(Repository.root)/Rules' rules", in: dir.path)
        #expect(try scan([dir.url("root"), "--fail-on", "never", "--format", "json", "--output", dir.url("r1.json")]).status == 0)
        // The same rules with two messages reworded (a copy of Rules/ takes the shipped one's place).
        try ImageFixtures.sh("""
            sed -i 's/message: "telnetd is started at boot ({via}): {command}"/message: "Telnet server launched during start-up via {via}: {command}"/' rules/interfaces.yaml && \
            sed -i 's/message: "no time synchronisation ({programs}) is started at boot or from cron"/message: "Clock is never synchronised (looked for {programs})"/' rules/audit.yaml && \
            grep -q 'Telnet server launched' rules/interfaces.yaml && grep -q 'Clock is never synchronised' rules/audit.yaml
            """, in: dir.path)
        let second = try scan([dir.url("root"), "--rules", dir.url("rules"), "--compare", dir.url("r1.json"), "--fail-on", "never", "--format", "json"])
        #expect(second.status == 0, "\(second.stderr)")
        let after = try json(second.stdout)
        #expect(states(after).allSatisfy { $0.hasPrefix("unchanged ") }, "\(states(after).filter { !$0.hasPrefix("unchanged ") })")
        let messages = findings(after).compactMap { $0["message"] as? String }
        #expect(messages.contains { $0.hasPrefix("Telnet server launched during start-up") })
        #expect(messages.contains { $0.hasPrefix("Clock is never synchronised") })
    }

    @Test("Several targets: a finding fixed on one target and kept on another is absent there and unchanged here; one target under a new name matches by fingerprint")
    func perTarget() throws {
        let a = try TemporaryDirectory(prefix: "rbscan-tgt-a")
        let b = try TemporaryDirectory(prefix: "rbscan-tgt-b")
        let out = try TemporaryDirectory(prefix: "rbscan-tgt-out")
        defer { a.remove(); b.remove(); out.remove() }
        try firstRelease(a)
        try firstRelease(b)
        #expect(try scan([a.path, b.path, "--fail-on", "never", "--format", "json", "--output", out.url("r1.json")]).status == 0)
        try FixtureWriter.write(["etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.10\nntpd -p pool.ntp.org\n", mode: 0o755)], into: b.path)
        let second = try scan([a.path, b.path, "--compare", out.url("r1.json"), "--fail-on", "never", "--format", "json"])
        let document = try json(second.stdout)
        let targets = (document["targets"] as? [[String: Any]] ?? []).map { $0["spec"] as? String ?? "" }
        let telnet = findings(document).filter { $0["ruleId"] as? String == "RB-IFC-001" }
            .map { "\(targets[$0["target"] as? Int ?? 0] == a.path ? "a" : "b") \($0["baselineState"] ?? "-")" }.sorted()
        #expect(telnet == ["a unchanged", "b absent"], "\(telnet)")
        // The same root under another name (the next build's file name): matched by fingerprint.
        let renamed = try TemporaryDirectory(prefix: "rbscan-tgt-renamed")
        defer { renamed.remove() }
        try firstRelease(renamed)
        #expect(try scan([a.path, "--fail-on", "never", "--format", "json", "--output", out.url("single.json")]).status == 0)
        let next = try json(try scan([renamed.path, "--compare", out.url("single.json"), "--fail-on", "never", "--format", "json"]).stdout)
        #expect(findings(next).allSatisfy { $0["baselineState"] as? String == "unchanged" }, "\(findings(next).map { $0["baselineState"] ?? "-" })")
    }

    @Test("rbscan diff OLD NEW: NEW's results get their baselineState against OLD; exit 1 only for new findings at the gate")
    func diff() throws {
        let root = try TemporaryDirectory(prefix: "rbscan-diff")
        let out = try TemporaryDirectory(prefix: "rbscan-diff-out")
        defer { root.remove(); out.remove() }
        try firstRelease(root)
        #expect(try scan([root.path, "--fail-on", "never", "--format", "json", "--output", out.url("old.json")]).status == 0)
        try secondRelease(root)
        #expect(try scan([root.path, "--fail-on", "never", "--format", "sarif", "--output", out.url("new.sarif")]).status == 0)
        for new in ["new.sarif"] {
            let result = try runProcess(rbscan, ["diff", out.url("old.json"), out.url(new), "--fail-on", "low", "--format", "json"])
            #expect(result.status == 1, "the new kptr_restrict finding is low: \(result.stderr)")
            let states = findings(try json(result.stdout)).filter { $0["status"] as? String == "fail" }
                .map { "\($0["ruleId"] ?? "") \($0["baselineState"] ?? "-")" }.sorted()
            #expect(states == ["RB-IFC-001 updated", "RB-SYS-001 absent", "RB-SYS-006 new"], "\(states)")
            #expect(try runProcess(rbscan, ["diff", out.url("old.json"), out.url(new), "--fail-on", "medium"]).status == 0)
        }
        let same = try runProcess(rbscan, ["diff", out.url("old.json"), out.url("old.json"), "--fail-on", "info"])
        #expect(same.status == 0 && same.stdout.contains("unchanged"), "\(same.stdout)")
    }

    @Test("--fail-on-new gates only on new findings; without it every finding at the threshold counts")
    func failOnNew() throws {
        let root = try TemporaryDirectory(prefix: "rbscan-failnew")
        let out = try TemporaryDirectory(prefix: "rbscan-failnew-out")
        defer { root.remove(); out.remove() }
        try firstRelease(root)
        #expect(try scan([root.path, "--fail-on", "never", "--format", "json", "--output", out.url("r1.json")]).status == 0)
        try secondRelease(root)
        let previous = out.url("r1.json")
        // The updated telnetd (high) is known: with --fail-on-new only the new low finding counts.
        #expect(try scan([root.path, "--compare", previous, "--fail-on-new", "--fail-on", "high"]).status == 0)
        let low = try scan([root.path, "--compare", previous, "--fail-on-new", "--fail-on", "low"])
        #expect(low.status == 1)
        #expect(low.stdout.contains("1 new failing finding(s)"), "\(low.stdout)")
        #expect(try scan([root.path, "--compare", previous, "--fail-on", "high"]).status == 1, "without --fail-on-new the known one counts")
        // Nothing new since the second run itself.
        #expect(try scan([root.path, "--fail-on", "never", "--format", "json", "--output", out.url("r2.json")]).status == 0)
        #expect(try scan([root.path, "--compare", out.url("r2.json"), "--fail-on-new", "--fail-on", "info"]).status == 0)
        let usage = try scan([root.path, "--fail-on-new"])
        #expect(usage.status == 2 && usage.stderr.contains("--compare"))
    }

    @Test("Waivers: an active one accepts its finding (visible, out of the gate, SARIF suppression); an expired one is reported and waives nothing; a stale one is reported")
    func waivers() throws {
        let root = try TemporaryDirectory(prefix: "rbscan-waivers")
        let out = try TemporaryDirectory(prefix: "rbscan-waivers-out")
        defer { root.remove(); out.remove() }
        try firstRelease(root)
        try FixtureWriter.write(["waivers.yaml": .file("""
            version: 1
            waivers:
              - rule: RB-IFC-001
                path: etc/init.d/*
                justification: factory test image, telnet removed by the release build (REQ-42)
                owner: camera-platform
                expires: 2999-12-31
              - rule: RB-SYS-*
                justification: kernel tuning accepted for the 2.x line
                owner: kernel-team
                expires: 2000-01-01
              - rule: RB-WEB-001
                justification: no web server any more
                expires: 2999-12-31

            """)], into: out.path)
        let waivers = out.url("waivers.yaml")
        let result = try scan([root.path, "--waivers", waivers, "--fail-on", "high", "--format", "json"])
        #expect(result.status == 0, "the only high finding is waived: \(result.stdout.prefix(400))")
        let document = try json(result.stdout)
        let telnet = try #require(findings(document).first { $0["ruleId"] as? String == "RB-IFC-001" })
        let waiver = try #require(telnet["waiver"] as? [String: Any])
        #expect(waiver["owner"] as? String == "camera-platform" && waiver["expires"] as? String == "2999-12-31")
        #expect((waiver["justification"] as? String)?.contains("REQ-42") == true && (waiver["source"] as? String)?.hasSuffix("waivers.yaml:3:5") == true, "\(waiver)")
        #expect(telnet["gating"] as? Bool == false)
        let aslr = try #require(findings(document).first { $0["ruleId"] as? String == "RB-SYS-001" })
        #expect(aslr["waiver"] == nil, "an expired waiver waives nothing")
        #expect((document["summary"] as? [String: Any])?["waived"] as? Int == 1)
        let diagnostics = (document["diagnostics"] as? [[String: Any]] ?? []).map { "\($0["code"] ?? "") \($0["location"] ?? "")" }
        #expect(diagnostics.contains { $0.hasPrefix("waiver.expired") && $0.contains("waivers.yaml:8") }, "\(diagnostics)")
        #expect(diagnostics.contains { $0.hasPrefix("waiver.stale") && $0.contains("waivers.yaml:12") }, "\(diagnostics)")
        // The expired waiver's finding gates again at medium.
        #expect(try scan([root.path, "--waivers", waivers, "--fail-on", "medium"]).status == 1)

        // SARIF: the waived result carries a suppression with the justification; --omit-waived drops it.
        let sarif = out.url("w.sarif")
        #expect(try scan([root.path, "--waivers", waivers, "--fail-on", "never", "--output", sarif]).status == 0)
        #expect(try validateSARIF(sarif).status == 0)
        func results(_ path: String) throws -> [[String: Any]] {
            let log = try json(String(contentsOfFile: path, encoding: .utf8))
            return ((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]) ?? []
        }
        let suppressed = try results(sarif).filter { $0["suppressions"] != nil }
        #expect(suppressed.map { $0["ruleId"] as? String } == ["RB-IFC-001"])
        let suppression = try #require((suppressed.first?["suppressions"] as? [[String: Any]])?.first)
        #expect(suppression["kind"] as? String == "external" && suppression["status"] as? String == "accepted")
        #expect((suppression["justification"] as? String)?.contains("REQ-42") == true)
        let upload = out.url("upload.sarif")
        #expect(try scan([root.path, "--waivers", waivers, "--omit-waived", "--fail-on", "never", "--output", upload]).status == 0)
        #expect(try validateSARIF(upload).status == 0)
        #expect(try !results(upload).contains { $0["ruleId"] as? String == "RB-IFC-001" })
        #expect(try results(upload).contains { $0["ruleId"] as? String == "RB-SYS-001" })
        // Waivers given to merge gate the merged report the same way.
        #expect(try scan([root.path, "--fail-on", "never", "--format", "json", "--output", out.url("plain.json")]).status == 0)
        let merged = try runProcess(rbscan, ["merge", out.url("plain.json"), "--waivers", waivers, "--fail-on", "high", "--format", "json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(findings(try json(merged.stdout)).contains { $0["ruleId"] as? String == "RB-IFC-001" && $0["waiver"] != nil })
        #expect(try runProcess(rbscan, ["merge", out.url("plain.json"), "--fail-on", "high"]).status == 1)
        // Text output shows the waiver.
        let text = try scan([root.path, "--waivers", waivers, "--fail-on", "never"]).stdout
        #expect(text.contains("[waived]") && text.contains("waived until 2999-12-31 (camera-platform)"), "\(text)")
    }

    @Test("A malformed waivers file stops the run with exit 2 naming file:line; nothing is scanned")
    func malformedWaivers() throws {
        let root = try TemporaryDirectory(prefix: "rbscan-badwaivers")
        defer { root.remove() }
        try firstRelease(root)
        try FixtureWriter.write(["w.yaml": .file("version: 1\nwaivers:\n  - rule: RB-IFC-001\n    justification: ''\n    expires: 2027-13-01\n")], into: root.path)
        let result = try scan([root.path, "--waivers", root.url("w.yaml")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("w.yaml:3") && result.stderr.contains("justification") && result.stderr.contains("YYYY-MM-DD"), "\(result.stderr)")
        try FixtureWriter.write(["w.yaml": .file("version: 1\nwaivers:\n  - rule: RB-IFC-001\n    expires: 2027-01-01\n")], into: root.path)
        let missing = try scan([root.path, "--waivers", root.url("w.yaml")])
        #expect(missing.status == 2 && missing.stderr.contains("justification"), "\(missing.stderr)")
        let compare = try scan([root.path, "--compare", root.url("w.yaml")])
        #expect(compare.status == 2 && compare.stderr.contains("w.yaml"), "\(compare.stderr)")
        // A value of the wrong type is named by its key path, never by an internal Swift dump.
        try FixtureWriter.write(["w.yaml": .file("version: 1\nwaivers:\n  - rule: [x]\n    justification: a\n    expires: 2027-01-01\n"),
                                 "inv.yaml": .file("version: 1\ntargets:\n  - {name: [1, 2], target: x}\n")], into: root.path)
        let typed = try scan([root.path, "--waivers", root.url("w.yaml")])
        #expect(typed.status == 2 && typed.stderr.contains("'waivers[0].rule' should be a string"), "\(typed.stderr)")
        let inventory = try scan(["--inventory", root.url("inv.yaml")])
        #expect(inventory.status == 2 && inventory.stderr.contains("'targets[0].name' should be a string"), "\(inventory.stderr)")
        #expect(!(typed.stderr + inventory.stderr).contains("Slice<"))
        // Days that do not exist are not dates; 29 February of a leap year is.
        for (day, valid) in [("2027-02-30", false), ("2026-04-31", false), ("2027-02-29", false), ("2100-02-29", false),
                             ("2028-02-29", true), ("2000-02-29", true), ("2027-1-05", false), ("２０２７-01-01", false)] {
            try FixtureWriter.write(["w.yaml": .file("version: 1\nwaivers:\n  - rule: RB-IFC-001\n    justification: accepted\n    expires: '\(day)'\n")],
                                    into: root.path)
            let result = try scan([root.path, "--waivers", root.url("w.yaml"), "--fail-on", "never"])
            #expect((result.status != 2) == valid, "\(day): \(result.stderr)")
        }
    }
}

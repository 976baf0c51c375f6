import Foundation
import RBTestSupport
import Testing

/// The HTML triage report of a real scan, opened in headless Chromium (Debian's `chromium`): the
/// page's script runs without errors, filters and sorting (driven through the address fragment,
/// as a user's bookmark would) leave exactly the expected rows, the compliance view maps
/// results to provisions, nothing is fetched from the network, and a screenshot renders.
@Suite("HTML report in headless Chromium", .serialized)
struct HTMLReportTests {
    let rbscan = Repository.rbscanBinary
    let example = Repository.root + "/Examples/camera-rootfs"

    func chromium(_ arguments: [String]) throws -> ProcessResult {
        try runProcess("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                             "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000"] + arguments)
    }

    /// The findings' `<tbody>` attributes of the DOM after the page ran, and whether each is shown.
    func rows(_ dom: String) -> [(attributes: [String: String], visible: Bool)] {
        var result: [(attributes: [String: String], visible: Bool)] = []
        let pattern = try! NSRegularExpression(pattern: #"<tbody class="finding"([^>]*)>"#)
        let attribute = try! NSRegularExpression(pattern: #"([a-z-]+)="([^"]*)""#)
        for match in pattern.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)) {
            let text = String(dom[Range(match.range(at: 1), in: dom)!])
            var attributes: [String: String] = [:]
            for pair in attribute.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                attributes[String(text[Range(pair.range(at: 1), in: text)!])] = String(text[Range(pair.range(at: 2), in: text)!])
            }
            result.append((attributes, !text.contains(" hidden")))
        }
        return result
    }

    @Test("Opens without script errors; severity, text, status filters and sorting work in the DOM; compliance view; no network; screenshot")
    func report() throws {
        let out = try TemporaryDirectory(prefix: "rbscan-html")
        defer { out.remove() }
        let scan = try runProcess(rbscan, ["scan", example, "--fail-on", "high", "--format", "json", "--output", out.url("r.json"),
                                           "--output", out.url("report.html")])
        #expect(scan.status == 1, "\(scan.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out.url("r.json")))) as? [String: Any])
        let findings = json["findings"] as? [[String: Any]] ?? []
        let html = try String(contentsOfFile: out.url("report.html"), encoding: .utf8)
        // Self-contained: no resource from elsewhere.
        #expect(html.range(of: #"(src|href)\s*=\s*"(https?:)?//"#, options: .regularExpression) == nil)
        #expect(!html.contains("<link ") && !html.contains("@import"))

        let url = URL(fileURLWithPath: out.url("report.html")).absoluteString
        func dom(_ fragment: String) throws -> String {
            let result = try chromium(["--dump-dom", url + fragment])
            #expect(result.status == 0, "\(result.stderr.suffix(500))")
            // Console errors and uncaught exceptions are logged by Chromium as CONSOLE lines.
            let console = result.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
            #expect(console.isEmpty, "\(console)")
            #expect(result.stdout.range(of: #"<body[^>]*data-ready="true""#, options: .regularExpression) != nil, "the script ran")
            #expect(result.stdout.range(of: #"<body[^>]*data-js-error"#, options: .regularExpression) == nil, "no script error")
            return result.stdout
        }

        let all = rows(try dom(""))
        #expect(all.count == findings.count && all.allSatisfy(\.visible))

        let critical = rows(try dom("#severity=critical"))
        let expectedCritical = findings.filter { $0["severity"] as? String == "critical" && $0["status"] as? String == "fail" }.count
        #expect(expectedCritical > 0)
        #expect(critical.filter(\.visible).count == expectedCritical)
        #expect(critical.filter(\.visible).allSatisfy { $0.attributes["data-severity"] == "critical" })

        let telnet = rows(try dom("#q=telnet"))
        let expectedTelnet = findings.filter { ("\($0["ruleId"] ?? "") \($0["path"] ?? "") \($0["message"] ?? "")").lowercased().contains("telnet") }.count
        #expect(telnet.filter(\.visible).count >= expectedTelnet && expectedTelnet > 0)
        #expect(telnet.filter(\.visible).allSatisfy { $0.attributes["data-search"]?.contains("telnet") == true })

        let gating = rows(try dom("#status=gating"))
        #expect(gating.filter(\.visible).count == findings.filter { $0["gating"] as? Bool == true }.count)

        let sortedDOM = try dom("#sort=severity:desc")
        #expect(sortedDOM.contains(#"data-sorted="severity:desc""#))
        let ranks = rows(sortedDOM).map { Int($0.attributes["data-rank"] ?? "") ?? -9 }
        #expect(ranks == ranks.sorted(by: >), "\(ranks)")
        let byRule = rows(try dom("#sort=rule")).map { Int($0.attributes["data-index"] ?? "") ?? 0 }
        let ruleOrder = byRule.map { findings[$0]["ruleId"] as? String ?? "" }
        #expect(ruleOrder == ruleOrder.sorted(), "\(ruleOrder)")

        // Compliance view: default passwords fail OWASP I1; I6 (privacy) has no rule: not checked.
        let full = try dom("")
        #expect(full.range(of: #"<tr class="c-fail" data-provision="I1">"#, options: .regularExpression) != nil)
        #expect(full.contains(#"<tr class="c-unchecked" data-provision="I6">"#))
        #expect(full.contains(#"data-standard="etsi""#) && full.contains(#"data-standard="gbt""#) && full.contains(#"data-provision="§7.1""#))

        // A screenshot renders (the one in docs/ is made the same way by scripts/html-screenshot).
        let shot = out.url("report.png")
        let screenshot = try chromium(["--screenshot=\(shot)", "--window-size=1280,1600", url])
        #expect(screenshot.status == 0, "\(screenshot.stderr.suffix(300))")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.count > 20_000 && png.starts(with: [0x89, 0x50, 0x4e, 0x47]))
    }

    /// A fleet of six real squashfs images (mksquashfs), named and ordered as releases in an
    /// inventory: one problem in all six, one in three, one in two, one in a single image.
    static func writeFleet(_ work: TemporaryDirectory) throws {
        var inventory = "version: 1\ntargets:\n"
        for i in 0..<6 {
            var files: [String: FixtureWriter.Item] = [
                "etc/passwd": .file("root:x:0:0:root:/root:/bin/sh\n"),
                "etc/shadow": .file("root:$1$rel\(i)salt$Y6W2tf9xqYg0q6sj7pQ4b/:19000:0:99999:7:::\n"),
                "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n" + (i < 3 ? "::respawn:/usr/sbin/telnetd -F -l /bin/login\n" : "")),
                "etc/init.d/rcS": .file("#!/bin/sh\nsyslogd -R 192.0.2.10\nntpd -p pool.ntp.org\n", mode: 0o755),
            ]
            if i == 3 || i == 4 { files["etc/sysctl.conf"] = .file("kernel.randomize_va_space = 0\n") }
            if i == 2 { files["root/.ash_history"] = .file("wget http://192.0.2.1/x\n") }
            try FixtureWriter.write(files, into: work.url("root\(i)"))
            try ImageFixtures.sh("mksquashfs root\(i) cam-1.\(i).sqfs -comp xz -noappend -quiet -all-root", in: work.path)
            inventory += "  - {name: cam-1.\(i), target: cam-1.\(i).sqfs, tags: [\(i < 3 ? "lobby" : "gate")]}\n"
        }
        try inventory.write(toFile: work.url("fleet.yaml"), atomically: true, encoding: .utf8)
    }

    @Test("Fleet of six images: the grouped view shows each shared problem once with its count of targets; severity-first order; CSV export of the current filter; provision titles")
    func fleetGroups() throws {
        let work = try TemporaryDirectory(prefix: "rbscan-html-fleet")
        defer { work.remove() }
        try Self.writeFleet(work)
        let scan = try runProcess(rbscan, ["scan", "--inventory", work.url("fleet.yaml"), "--fail-on", "never", "--quiet",
                                           "--format", "json", "--output", work.url("r.json"), "--output", work.url("fleet.html")])
        #expect(scan.status == 0, "\(scan.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.url("r.json")))) as? [String: Any])
        let findings = json["findings"] as? [[String: Any]] ?? []
        // The expected groups, from the JSON report: fingerprint -> targets.
        var expected: [String: Set<Int>] = [:]
        for finding in findings where ["fail", "review"].contains(finding["status"] as? String ?? "") {
            expected[finding["fingerprint"] as? String ?? "", default: []].insert(finding["target"] as? Int ?? -1)
        }
        func fingerprint(_ rule: String, _ path: String) -> String? {
            findings.first { $0["ruleId"] as? String == rule && $0["path"] as? String == path }?["fingerprint"] as? String
        }
        let everywhere = try #require(fingerprint("RB-PWD-004", "etc/shadow")), telnet = try #require(fingerprint("RB-IFC-001", "etc/inittab"))
        let aslr = try #require(fingerprint("RB-SYS-001", "etc/sysctl.conf")), history = try #require(fingerprint("RB-SEN-003", "root/.ash_history"))
        #expect(expected[everywhere]?.count == 6 && expected[telnet] == [0, 1, 2] && expected[aslr] == [3, 4] && expected[history] == [2])

        let url = URL(fileURLWithPath: work.url("fleet.html")).absoluteString
        func dom(_ fragment: String) throws -> String {
            let result = try chromium(["--dump-dom", url + fragment])
            #expect(result.status == 0 && result.stdout.contains(#"data-ready="true""#), "\(result.stderr.suffix(300))")
            #expect(result.stdout.range(of: #"<body[^>]*data-js-error"#, options: .regularExpression) == nil, "no script error")
            return result.stdout
        }
        let page = try dom("")
        // Each problem once, with the number of targets it affects and their names.
        let rowPattern = try NSRegularExpression(pattern: #"<tr class="group" data-fingerprint="([0-9a-f]+)"[^>]*data-count="(\d+)">(.*?)</tr>"#)
        var shown: [String: (count: Int, row: String)] = [:]
        var duplicates: [String] = []
        for match in rowPattern.matches(in: page, range: NSRange(page.startIndex..., in: page)) {
            let id = String(page[Range(match.range(at: 1), in: page)!])
            if shown[id] != nil { duplicates.append(id) }
            shown[id] = (Int(page[Range(match.range(at: 2), in: page)!]) ?? 0, String(page[Range(match.range(at: 3), in: page)!]))
        }
        #expect(duplicates.isEmpty, "a problem listed twice: \(duplicates)")
        #expect(Set(shown.keys) == Set(expected.keys))
        for (id, targets) in expected { #expect(shown[id]?.count == targets.count, "\(id): \(shown[id]?.count ?? -1) vs \(targets.count)") }
        let telnetRow = try #require(shown[telnet]?.row)
        #expect(["cam-1.0", "cam-1.1", "cam-1.2"].allSatisfy(telnetRow.contains) && !telnetRow.contains("cam-1.3"))
        #expect(telnetRow.contains("cam-1.0 / cam-1.2"), "first and last release seen")
        #expect(shown[everywhere]?.row.contains("<b>6</b> of 6") == true)

        // Severity first by default: critical and high before review and not applicable.
        let ranks = rows(page).map { Int($0.attributes["data-rank"] ?? "") ?? -9 }
        let statusRank = rows(page).map { $0.attributes["data-status"] == "notApplicable" ? -2 : Int($0.attributes["data-rank"] ?? "") ?? -9 }
        #expect(ranks.first == ranks.max() && statusRank == statusRank.sorted(by: >), "\(statusRank)")

        // CSV of the current filter: the rows shown, with a header; a fingerprint link filters to one group.
        let filtered = try dom("#q=" + telnet)
        let visible = rows(filtered).filter(\.visible)
        #expect(visible.count == 3 && visible.allSatisfy { $0.attributes["data-fingerprint"] == telnet })
        let link = try #require(filtered.range(of: #"<a id="csv"[^>]*>"#, options: .regularExpression).map { String(filtered[$0]) })
        #expect(link.contains(#"data-rows="3""#), "\(link)")
        let href = try #require(link.range(of: #"href="data:text/csv;charset=utf-8,([^"]*)""#, options: .regularExpression).map { String(link[$0]) })
        let csv = try #require(String(href.dropFirst(#"href="data:text/csv;charset=utf-8,"#.count).dropLast()).replacingOccurrences(of: "&amp;", with: "&").removingPercentEncoding)
        let lines = csv.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "severity,status,rule,category,target,location,message,fingerprint" && lines.count == 4, "\(lines)")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("high,fail,RB-IFC-001,IFC,cam-1.") && $0.hasSuffix("," + telnet) }, "\(lines)")

        // Provision titles in the compliance view.
        #expect(page.contains("5.1-1 — No universal default passwords") && page.contains("5.3-1 — Keep software updated"))

        // The screenshot of the grouped view (docs/html-groups.png with RBSCAN_RECORD_SCREENSHOTS=1).
        let shot = work.url("groups.png")
        let screenshot = try chromium(["--screenshot=\(shot)", "--window-size=1280,1500", "--hide-scrollbars", url])
        #expect(screenshot.status == 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.count > 20_000 && png.starts(with: [0x89, 0x50, 0x4e, 0x47]))
        if ProcessInfo.processInfo.environment["RBSCAN_RECORD_SCREENSHOTS"] == "1" {
            try? FileManager.default.removeItem(atPath: Repository.root + "/docs/html-groups.png")
            try FileManager.default.copyItem(atPath: shot, toPath: Repository.root + "/docs/html-groups.png")
        }
    }
}

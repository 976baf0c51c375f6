import Foundation
import RBTestSupport
import Testing

/// Vendor configuration exports (issue 20): every non-compliant document fails exactly the rules it
/// should, every compliant one fails none, none is silent; namespaced XML is read by local name;
/// an OpenWrt root is judged through its UCI files.
@Suite("Vendor configurations")
struct VendorConfigTests {
    let rbscan = Repository.rbscanBinary
    let examples = Repository.root + "/Examples/vendor-configs"

    struct Outcome {
        var fails: Set<String>
        var reviews: Set<String>
        var codes: [String]
    }

    func scan(_ path: String, _ extra: [String] = []) throws -> Outcome {
        let result = try runProcess(rbscan, ["scan", path, "--fail-on", "never", "--format", "json"] + extra)
        #expect(result.status == 0, "\(path): \(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let findings = report["findings"] as? [[String: Any]] ?? []
        func rules(_ status: String) -> Set<String> {
            Set(findings.filter { $0["status"] as? String == status }.compactMap { $0["ruleId"] as? String })
        }
        let diagnostics = report["diagnostics"] as? [[String: Any]] ?? []
        return Outcome(fails: rules("fail"), reviews: rules("review"), codes: diagnostics.compactMap { $0["code"] as? String })
    }

    @Test("Each Hikvision ISAPI, Dahua and OpenWrt document fails exactly the rules in expected.tsv; compliant ones fail none; none is silent")
    func expectedTable() throws {
        let table = try String(contentsOfFile: examples + "/expected.tsv", encoding: .utf8)
        var rows = 0
        for line in table.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "\t").map(String.init)
            guard parts.count == 2 else { continue }
            let expected = parts[1] == "-" ? Set<String>() : Set(parts[1].split(separator: " ").map(String.init))
            let outcome = try scan(examples + "/" + parts[0])
            #expect(outcome.fails == expected, "\(parts[0])")
            #expect(!outcome.codes.contains("config.not-understood"), "\(parts[0]) was understood")
            #expect(!outcome.codes.contains("check.parse-error"), "\(parts[0]) parses")
            rows += 1
        }
        #expect(rows == 40)
    }

    @Test("A UCI file no rule judges (network: interfaces and addresses) is said so, naming the adapter that read it")
    func notUnderstoodNamesTheAdapter() throws {
        let result = try runProcess(rbscan, ["scan", examples + "/openwrt/network", "--format", "json"])
        #expect(result.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let diagnostics = report["diagnostics"] as? [[String: Any]] ?? []
        let notice = try #require(diagnostics.first { $0["code"] as? String == "config.not-understood" })
        #expect((notice["message"] as? String ?? "").contains("openwrt-uci"))
        #expect((report["findings"] as? [[String: Any]] ?? []).isEmpty)
    }

    @Test("Namespaces never hide a match: default, prefixed and no namespace read alike; declared prefixes bind exactly")
    func namespaces() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let body = "<enabled>false</enabled><maxIllegalLoginTimes>5</maxIllegalLoginTimes><maxIllegalLoginLockTime>30</maxIllegalLoginLockTime>"
        let documents = [
            "default.xml": "<IllegalLoginLock version=\"2.0\" xmlns=\"http://www.isapi.org/ver20/XMLSchema\">\(body)</IllegalLoginLock>\n",
            "prefixed.xml": "<hik:IllegalLoginLock xmlns:hik=\"http://www.hikvision.com/ver20/XMLSchema\">"
                + body.replacingOccurrences(of: "<", with: "<hik:").replacingOccurrences(of: "<hik:/", with: "</hik:") + "</hik:IllegalLoginLock>\n",
            "none.xml": "<IllegalLoginLock>\(body)</IllegalLoginLock>\n",
        ]
        for (name, text) in documents {
            try text.write(toFile: dir.url(name), atomically: true, encoding: .utf8)
            #expect(try scan(dir.url(name)).fails.contains("RB-AUTH-006"), "\(name): lockout off must fail")
            try text.replacingOccurrences(of: "<enabled>false", with: "<enabled>true").replacingOccurrences(of: ":enabled>false", with: ":enabled>true")
                .write(toFile: dir.url(name), atomically: true, encoding: .utf8)
            #expect(try !scan(dir.url(name)).fails.contains("RB-AUTH-006"), "\(name): lockout on passes")
        }
        // A rule with a declared prefix matches that namespace only.
        try FixtureWriter.write([
            "rules/manifest.yaml": .file("format: 1\nid: ns-test\nversion: 1.0.0\nprefix: NST\nrbscan: \">=0.1\"\n"),
            "rules/ns.yaml": .file("""
                version: 1
                pack: ns
                title: Namespaces
                rules:
                  - id: NST-IFC-001
                    title: UPnP off (ISAPI namespace only)
                    category: IFC
                    severity: low
                    description: d
                    remediation: r
                    check: xml.xpath
                    targets: [config]
                    options:
                      paths: ["**/*.xml"]
                      xpath: "//isapi:UPnP/isapi:enabled[. = 'true']"
                      namespaces: {isapi: "http://www.isapi.org/ver20/XMLSchema"}

                """),
            "isapi.xml": .file("<UPnP xmlns=\"http://www.isapi.org/ver20/XMLSchema\"><enabled>true</enabled></UPnP>\n"),
            "other.xml": .file("<UPnP xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><enabled>true</enabled></UPnP>\n"),
        ], into: dir.path)
        #expect(try scan(dir.url("isapi.xml"), ["--rules", dir.url("rules")]).fails.contains("NST-IFC-001"))
        #expect(try !scan(dir.url("other.xml"), ["--rules", dir.url("rules")]).fails.contains("NST-IFC-001"))
    }

    @Test("A config file no rule understands is said so, with the adapters tried; it is never a silent pass")
    func notUnderstood() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "mode=7\nframe=25\n".write(toFile: dir.url("camera.dat"), atomically: true, encoding: .utf8)
        let outcome = try scan(dir.url("camera.dat"))
        #expect(outcome.fails.isEmpty && outcome.reviews.isEmpty)
        #expect(outcome.codes.contains("config.not-understood"))
    }

    @Test("An OpenWrt root with procd init scripts: dropbear and uhttpd configured securely fail neither RB-AUTH-008 nor RB-DAT-001; insecurely, exactly those")
    func openWrtRoot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // procd services written in the shape of OpenWrt's (their settings come from UCI).
        let dropbearInit = """
            #!/bin/sh /etc/rc.common
            START=19
            USE_PROCD=1
            PROG=/usr/sbin/dropbear
            NAME=dropbear
            validate_section_dropbear()
            {
            \tuci_load_validate dropbear dropbear "$1" "$2" 'PasswordAuth:bool:1' 'RootPasswordAuth:bool:1' 'Port:port:22'
            }
            dropbear_instance()
            {
            \tprocd_open_instance
            \tprocd_set_param command "$PROG" -F -P /var/run/${NAME}.${1}.pid -p "${Port}"
            \t[ "${PasswordAuth}" -eq 0 ] && procd_append_param command -s
            \t[ "${RootPasswordAuth}" -eq 0 ] && procd_append_param command -g
            \tprocd_close_instance
            }
            start_service()
            {
            \tconfig_load "${NAME}"
            \tconfig_foreach validate_section_dropbear dropbear dropbear_instance
            }
            shutdown() {
            \tkillall dropbear
            }

            """
        let uhttpdInit = """
            #!/bin/sh /etc/rc.common
            START=50
            USE_PROCD=1
            UHTTPD_BIN="/usr/sbin/uhttpd"
            start_instance() {
            \tlocal cfg="$1" http https
            \tprocd_open_instance
            \tprocd_set_param command "$UHTTPD_BIN" -f
            \tconfig_get http "$cfg" listen_http
            \tfor listen in $http; do procd_append_param command -p "$listen"; done
            \tprocd_close_instance
            }
            start_service() {
            \tconfig_load uhttpd
            \tconfig_foreach start_instance uhttpd
            }

            """
        let common: [String: FixtureWriter.Item] = [
            "etc/init.d/dropbear": .file(dropbearInit, mode: 0o755),
            "etc/init.d/uhttpd": .file(uhttpdInit, mode: 0o755),
            "etc/rc.d/S19dropbear": .symlink("../init.d/dropbear"),
            "etc/rc.d/S50uhttpd": .symlink("../init.d/uhttpd"),
            "etc/shadow": .file("root:$6$rbscanstrong1$ZdUBhM0waQ5afE.db3uTauAox3iWoyWdbCNvsSsW6jifj0Tx9HV5aT5k1637CkBzvddi394z0uWC0U1OGvAYj/:19000:0:99999:7:::\n", mode: 0o600),
            "etc/passwd": .file("root:x:0:0:root:/root:/bin/ash\n"),
            "usr/sbin/dropbear": .file("\u{7f}ELF dropbear", mode: 0o755),
            "usr/sbin/uhttpd": .file("\u{7f}ELF uhttpd", mode: 0o755),
        ]
        var secure = common
        secure["etc/config/dropbear"] = .file("config dropbear\n\toption PasswordAuth 'off'\n\toption RootPasswordAuth 'off'\n\toption Port '22'\n")
        secure["etc/config/uhttpd"] = .file(try String(contentsOfFile: examples + "/openwrt/compliant/uhttpd", encoding: .utf8))
        var insecure = common
        insecure["etc/config/dropbear"] = .file("config dropbear\n\toption PasswordAuth 'on'\n\toption RootPasswordAuth 'on'\n\toption Port '22'\n")
        insecure["etc/config/uhttpd"] = .file(try String(contentsOfFile: examples + "/openwrt/noncompliant/uhttpd", encoding: .utf8))
        try FixtureWriter.write(secure, into: dir.url("secure"))
        try FixtureWriter.write(insecure, into: dir.url("insecure"))
        let watched: Set<String> = ["RB-AUTH-008", "RB-DAT-001"]
        #expect(try scan(dir.url("secure")).fails.intersection(watched).isEmpty)
        #expect(try scan(dir.url("insecure")).fails.intersection(watched) == watched)
        let json = try runProcess(rbscan, ["scan", dir.url("insecure"), "--fail-on", "never", "--format", "json"]).stdout
        // One RB-AUTH-008 result, on the UCI option, none on the init script's PROG=/NAME= lines.
        #expect(json.components(separatedBy: "dropbear lets root log in").count - 1 == 1)
        #expect(json.contains("uhttpd generates its HTTPS key at first boot with px5g as RSA-1024"))
    }
}

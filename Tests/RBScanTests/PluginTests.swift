import Foundation
import RBTestSupport
import Testing

/// External check plugins (docs/plugins.md): the example plugin on a directory, a squashfs image
/// (read through the protocol, nothing extracted) and a config file; hostile plugins end as
/// bounded diagnostics with the rest of the scan complete and no host file served.
@Suite("External check plugins")
struct PluginTests {
    let rbscan = Repository.rbscanBinary
    let example = Repository.root + "/Examples/camera-rootfs"
    let wifi = Repository.root + "/Plugins/wpa-supplicant"

    @Test func examplePluginOnADirectoryAnImageAndAConfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let conf = "ctrl_interface=/var/run/wpa_supplicant\nnetwork={\n  ssid=\"lobby\"\n  key_mgmt=NONE\n}\nnetwork={\n  ssid=\"cam\"\n  psk=\"secret-passphrase-7731\"\n  pairwise=TKIP\n}\n"
        try ImageFixtures.sh("cp -a \(example) root", in: dir.path)
        try FixtureWriter.write(["root/etc/wpa_supplicant.conf": .file(conf), "wpa_supplicant.conf": .file(conf)], into: dir.path)
        try ImageFixtures.sh("mkdir tmp && mksquashfs root root.sqfs -noappend -quiet -comp xz", in: dir.path)
        for target in ["root", "root.sqfs", "wpa_supplicant.conf"] {
            let result = try runProcess(rbscan, ["scan", dir.url(target), "--plugins", wifi, "--fail-on", "never",
                                                 "--format", "json", "--output", dir.url("r.json"), "--format", "sarif", "--output", dir.url("r.sarif"),
                                                 "--format", "html", "--output", dir.url("r.html")],
                                        environment: ["TMPDIR": dir.url("tmp")])
            #expect(result.status == 0, "\(target): \(result.stderr)")
            let json = try String(contentsOfFile: dir.url("r.json"), encoding: .utf8)
            #expect(json.contains("\"ruleId\" : \"EXAMPLE-WIFI-001\"") && json.contains("network lobby is open"), "\(target)")
            #expect(json.contains("allows TKIP only") && json.contains("\"status\" : \"review\""), "\(target)")
            // The passphrase the plugin saw is masked like any built-in finding's secret.
            #expect(!json.contains("secret-passphrase-7731"))
            let sarif = try String(contentsOfFile: dir.url("r.sarif"), encoding: .utf8)
            #expect(sarif.contains("EXAMPLE-WIFI-001") && sarif.contains("wpa_supplicant.conf"))
            #expect(try validateSARIF(dir.url("r.sarif")).status == 0)
            #expect(try String(contentsOfFile: dir.url("r.html"), encoding: .utf8).contains("EXAMPLE-WIFI-001"))
            if target == "root" { #expect(json.contains("RB-IFC-001"), "built-in rules run beside the plugin's") }
            // Nothing of the image reached the disk: the temporary directory is empty again and no
            // copy of the configuration was left anywhere under it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url("tmp")).isEmpty)
        }
        let test = try runProcess(rbscan, ["rules", "test", "--plugins", wifi, "EXAMPLE-WIFI-001"])
        #expect(test.status == 0 && test.stdout.contains("PASS EXAMPLE-WIFI-001"), "\(test.stdout)\(test.stderr)")
    }

    /// The POSIX sh example reads httpd.conf through the protocol from a directory, a squashfs
    /// and a config file, its findings in JSON, SARIF and HTML; `rbscan plugins
    /// list|test` show both examples and pass their rules' examples.
    @Test func shellPluginAndPluginsCommand() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let conf = "A:*\n/cgi-bin:admin:admin\n/adm:root:$1$ab$Tb4EEGgnXsBY8Wl0CHrNa.\n"
        try FixtureWriter.write(["root/etc/httpd.conf": .file(conf), "httpd.conf": .file(conf)], into: dir.path)
        try ImageFixtures.sh("mkdir tmp && mksquashfs root root.sqfs -noappend -quiet", in: dir.path)
        for target in ["root", "root.sqfs", "httpd.conf"] {
            let result = try runProcess(rbscan, ["scan", dir.url(target), "--plugins", Repository.root + "/Plugins/busybox-httpd",
                                                 "--fail-on", "high", "--format", "json", "--output", dir.url("r.json"),
                                                 "--format", "sarif", "--output", dir.url("r.sarif"), "--format", "html", "--output", dir.url("r.html")],
                                        environment: ["TMPDIR": dir.url("tmp")])
            #expect(result.status == 1, "\(target): \(result.stderr)")
            let json = try String(contentsOfFile: dir.url("r.json"), encoding: .utf8)
            #expect(json.contains("/cgi-bin is protected by user admin whose password is stored in clear"), "\(target): \(json.suffix(2000))")
            #expect(!json.contains("/adm is protected"), "a crypt hash is not a password in clear")
            let sarif = try String(contentsOfFile: dir.url("r.sarif"), encoding: .utf8)
            #expect(sarif.contains("EXAMPLE-WEB-001") && sarif.contains("httpd.conf"), "\(target)")
            #expect(try validateSARIF(dir.url("r.sarif")).status == 0)
            #expect(try String(contentsOfFile: dir.url("r.html"), encoding: .utf8).contains("EXAMPLE-WEB-001"), "\(target)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url("tmp")).isEmpty, "nothing of the image reached the disk")
        }
        let list = try runProcess(rbscan, ["plugins", "list", "--plugins", Repository.root + "/Plugins"])
        #expect(list.stdout.contains("busybox-httpd 1.0.0") && list.stdout.contains("wifi.supplicant-networks"), "\(list.stdout)\(list.stderr)")
        let test = try runProcess(rbscan, ["plugins", "test", "--plugins", Repository.root + "/Plugins"])
        #expect(test.status == 0 && test.stdout.contains("PASS EXAMPLE-WEB-001") && test.stdout.contains("PASS EXAMPLE-WIFI-001"), "\(test.stdout)\(test.stderr)")
    }

    /// The site's plugins in `share/rbscan/plugins.d` (here `$RBSCAN_HOME/plugins.d`) run in every
    /// scan that loads the shipped rules; `Plugins/` (the examples) and `plugins` (the same name on
    /// a case-insensitive file system) never do;
    /// `--no-shipped-rules` leaves them out with the shipped rules.
    @Test func sitePluginsDirectoryIsLoaded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = Repository.root
        try ImageFixtures.sh("""
            mkdir -p home/plugins.d other/Plugins other/plugins
            cp -a '\(root)/Rules' '\(root)/Baselines' '\(root)/Profiles' home/
            cp -a '\(root)/Rules' '\(root)/Baselines' '\(root)/Profiles' other/
            cp -a '\(root)/Plugins/busybox-httpd' home/plugins.d/
            cp -a '\(root)/Plugins/busybox-httpd' other/Plugins/
            cp -a '\(root)/Plugins/busybox-httpd' other/plugins/
            mkdir -p rootfs/etc && printf 'A:*\\n/cgi-bin:admin:admin\\n' > rootfs/etc/httpd.conf
            """, in: dir.path)
        func scan(_ home: String, _ extra: [String] = []) throws -> String {
            let result = try runProcess(rbscan, ["scan", dir.url("rootfs"), "--fail-on", "never", "--format", "json"] + extra,
                                        environment: ["RBSCAN_HOME": dir.url(home)])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        #expect(try scan("home").contains("\"ruleId\" : \"EXAMPLE-WEB-001\""))
        let other = try scan("other")
        #expect(!other.contains("EXAMPLE-WEB-001"))
        // Site plugins left in the former `plugins` are named, not silently dropped.
        #expect(other.contains("\"plugins.moved\""), "\(other.suffix(1500))")
        #expect(try !scan("home", ["--no-shipped-rules", "--rules", dir.url("home/Rules")]).contains("EXAMPLE-WEB-001"))
        let list = try runProcess(rbscan, ["plugins", "list"], environment: ["RBSCAN_HOME": dir.url("home")])
        #expect(list.status == 0 && list.stdout.contains("busybox-httpd 1.0.0"), "\(list.stdout)\(list.stderr)")
    }

    /// `rbscan plugins new NAME --lang python|sh` writes a plugin that passes `plugins test` as
    /// written (rbscan runs it with a cleared environment), and refuses to overwrite. The Python
    /// one imports the protocol helper from the copy beside its program, which is rbscan's own.
    @Test(arguments: ["python", "sh"])
    func scaffoldedPluginsPassTheirTests(lang: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let made = try runProcess(rbscan, ["plugins", "new", "acme-cam", "--lang", lang, "--directory", dir.path])
        #expect(made.status == 0, "\(made.stderr)")
        let test = try runProcess(rbscan, ["plugins", "test", "--plugins", dir.url("acme-cam")])
        #expect(test.status == 0 && test.stdout.contains("PASS ACMECAM-SYS-001 (1 fail, 1 pass examples)"), "\(test.stdout)\(test.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.url("acme-cam/README.md")))
        let manifest = try String(contentsOfFile: dir.url("acme-cam/rules/manifest.yaml"), encoding: .utf8)
        #expect(manifest.contains("prefix: ACMECAM\n"), "\(manifest)")
        if lang == "python" {
            #expect(try String(contentsOfFile: dir.url("acme-cam/check.py"), encoding: .utf8).contains("import rbscan_plugin"))
            #expect(FileManager.default.contentsEqual(atPath: dir.url("acme-cam/rbscan_plugin.py"),
                                                      andPath: Repository.root + "/Plugins/sdk/python/rbscan_plugin.py"))
            #expect(!FileManager.default.fileExists(atPath: dir.url("acme-cam/__pycache__")), "a run writes nothing into the plugin")
        }
        #expect(try runProcess(rbscan, ["plugins", "new", "acme-cam", "--lang", lang, "--directory", dir.path]).status == 2)
    }

    /// `rbscan plugins new NAME --lang swift` writes a package depending on this checkout's
    /// RBPluginSDK by path; built as its README says, it passes `plugins test` as written, and a
    /// scan finds what its fail example holds. (About 15-40 s: the release build of the SDK.)
    @Test func swiftScaffoldBuildsAndPassesItsTests() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let start = ContinuousClock.now
        let made = try runProcess(rbscan, ["plugins", "new", "acme-cam", "--lang", "swift", "--directory", dir.path])
        #expect(made.status == 0 && made.stdout.contains("swift build -c release"), "\(made.stdout)\(made.stderr)")
        let package = try String(contentsOfFile: dir.url("acme-cam/Package.swift"), encoding: .utf8)
        #expect(package.contains(".package(path: \"\(Repository.root)\")"), "\(package)")
        let build = try runProcess("/usr/bin/env", ["swift", "build", "-c", "release", "-Xswiftc", "-warnings-as-errors"],
                                   currentDirectory: dir.url("acme-cam"))
        try #require(build.status == 0, "\(build.stdout.suffix(3000))\(build.stderr.suffix(3000))")
        let test = try runProcess(rbscan, ["plugins", "test", "--plugins", dir.url("acme-cam")])
        #expect(test.status == 0 && test.stdout.contains("PASS ACMECAM-SYS-001 (1 fail, 1 pass examples)"), "\(test.stdout)\(test.stderr)")
        try FixtureWriter.write(["root/etc/acme-cam.conf": .file("name=cam\r\n\ndebug = 1\r\n"), "root/etc/sub/acme-cam.conf": .file("\u{7f}ELF\0\0\ndebug=1\n")], into: dir.path)
        let scan = try runProcess(rbscan, ["scan", dir.url("root"), "--plugins", dir.url("acme-cam"), "--fail-on", "never", "--format", "json"])
        #expect(scan.status == 0 && scan.stdout.contains("\"message\" : \"debug is on in etc/acme-cam.conf\""), "\(scan.stderr)")
        #expect(scan.stdout.contains("\"line\" : 3") && !scan.stdout.contains("plugin.failed"), "\(scan.stdout.suffix(3000))")
        #expect(!scan.stdout.contains("etc/sub/acme-cam.conf"), "a binary file is skipped (readText is nil)")
        print("Swift scaffold: generated, built and tested in \(ContinuousClock.now - start)")
    }

    /// A plugin directory holding `script` as its program (POSIX sh) and a rule using its check.
    func hostilePlugin(_ name: String, script: String, in dir: TemporaryDirectory) throws -> String {
        try FixtureWriter.write([
            "\(name)/plugin.yaml": .file("protocol: 1\nid: \(name)\nversion: 0.1.0\ncommand: [sh, run.sh]\ntimeout: 3\nchecks:\n  - id: hostile.\(name)\n    summary: hostile\n    targets: [firmware, config]\n"),
            "\(name)/run.sh": .file(script, mode: 0o755),
            "\(name)/rules/hostile.yaml": .file("""
                version: 1
                pack: hostile-\(name)
                title: Hostile
                rules:
                  - id: HOSTILE-TEST-001
                    title: Hostile plugin
                    category: SYS
                    severity: high
                    description: d
                    remediation: r
                    check: hostile.\(name)
                    targets: [firmware, config]

                """),
        ], into: dir.path)
        return dir.url(name)
    }

    @Test(arguments: [
        ("silent", "read request\nsleep 600\n", "timeout"),
        ("flood", "read request\nhead -c 1073741824 /dev/zero\n", "output limit"),
        ("segfault", "read request\nkill -SEGV $$\n", "killed by signal 11"),
        ("garbage", "read request\necho '{not json'\nsleep 1\n", "not a protocol message"),
        ("quits", "read request\nexit 0\n", "ended without a result"),
        // Asks and asks without reading the answers: rbscan's writes to its stdin stop under the
        // same deadline as its reads.
        ("deaf", #"read request; yes '{"type":"stat","path":"etc/passwd"}' | head -c 1073741824; sleep 600"#, "timeout"),
        ("deafread", #"read request; while :; do printf '{"type":"read","path":"etc/passwd"}\n'; done"#, "timeout"),
        ("many", #"read request; awk 'BEGIN { printf "{\"type\":\"result\",\"observations\":["; for (i = 0; i < 10050; i++) { if (i) printf ","; printf "{\"message\":\"m%d\"}", i }; print "]}" }'"#,
         "10050 observations, more than 10000 (output limit)"),
    ])
    func hostilePluginsAreBoundedDiagnostics(name: String, script: String, expected: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let plugin = try hostilePlugin(name, script: script, in: dir)
        let start = ContinuousClock.now
        let result = try runProcess(rbscan, ["scan", example, "--plugins", plugin, "--fail-on", "never", "--format", "json"])
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(result.status == 3, "\(name): \(result.stderr)")
        #expect(result.stdout.contains("\"plugin.failed\"") && result.stdout.contains("plugin \(name) 0.1.0") && result.stdout.contains(expected),
                "\(name): \(result.stdout.suffix(1500))")
        // The rest of the scan is complete.
        #expect(result.stdout.contains("\"ruleId\" : \"RB-IFC-001\"") && result.stdout.contains("\"ruleId\" : \"RB-PWD-002\""))
    }

    /// A plugin asking for paths outside the target (`../../etc/shadow`, `/etc/shadow`,
    /// `etc/../../etc/passwd`) is refused; links resolve inside the target as they would on the
    /// device (an absolute link to /etc/marker reads the target's etc/marker), and a link to a host
    /// file the target lacks (/etc/hostname) is "no such file": no host file is ever served.
    @Test func pathsOutsideTheTargetAreRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            cp -a \(example) root && printf 'IN-TARGET-7c1f\\n' > root/etc/marker
            ln -s /etc/marker root/absolute && ln -s ../../../../etc/marker root/etc/up && ln -s /etc/hostname root/host
            """, in: dir.path)
        let script = """
            read request
            for p in ../../etc/shadow /etc/shadow etc/../../etc/passwd absolute etc/up host; do
              printf '{"type":"read","path":"%s"}\\n' "$p"
              read answer
              case "$answer" in
                *'"type":"error"'*) echo "refused" >> "$HOME/log" ;;
                *)
                  data=$(printf '%s' "$answer" | sed 's/.*"data":"\\([^"]*\\)".*/\\1/' | base64 -d 2>/dev/null)
                  case "$data" in IN-TARGET-7c1f*) echo "target" >> "$HOME/log" ;; *) echo "HOST" >> "$HOME/log" ;; esac ;;
              esac
            done
            printf '{"type":"result","observations":[{"message":"refused %s target %s host %s","path":"etc/marker"}]}\\n' \\
              "$(grep -c refused "$HOME/log")" "$(grep -c target "$HOME/log")" "$(grep -c HOST "$HOME/log")"
            """
        let plugin = try hostilePlugin("escape", script: script, in: dir)
        let result = try runProcess(rbscan, ["scan", dir.url("root"), "--plugins", plugin, "--fail-on", "never", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)\(result.stdout.suffix(800))")
        #expect(result.stdout.contains("refused 4 target 2 host 0"), "\(result.stdout.suffix(1500))")
    }

    /// A plugin that gives no evidence keys: its findings' identity comes from their evidence
    /// (snippet, facts) or rank, never the message, so rewording keeps every fingerprint and a
    /// --compare against the earlier run says unchanged.
    @Test func keylessPluginFindingsKeepTheirIdentityWhenReworded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func run(_ wording: String) throws -> ProcessResult {
            let script = """
                read request
                printf '{"type":"result","observations":[{"message":"%s telnet","path":"etc/inittab","line":4,"evidence":{"snippet":"::respawn:/usr/sbin/telnetd"}},{"message":"%s mode","path":"etc/shadow","evidence":{"facts":{"mode":"0644"}}},{"message":"%s one","path":"etc/passwd"},{"message":"%s two","path":"etc/passwd"}]}\\n' \
                  '\(wording)' '\(wording)' '\(wording)' '\(wording)'
                """
            let plugin = try hostilePlugin("keyless", script: script, in: dir)
            return try runProcess(rbscan, ["scan", example, "--plugins", plugin, "--fail-on", "never", "--format", "json", "--output", dir.url("\(wording).json")]
                                  + (wording == "Second" ? ["--compare", dir.url("First.json")] : []))
        }
        #expect(try run("First").status == 0)
        #expect(try run("Second").status == 0)
        func plugin(_ file: String) throws -> [[String: Any]] {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url(file)))) as? [String: Any])
            return (document["findings"] as? [[String: Any]] ?? []).filter { $0["ruleId"] as? String == "HOSTILE-TEST-001" }
        }
        let first = try plugin("First.json"), second = try plugin("Second.json")
        #expect(first.count == 4 && second.count == 4)
        #expect(Set(first.compactMap { $0["fingerprint"] as? String }) == Set(second.compactMap { $0["fingerprint"] as? String }))
        #expect(Set(first.compactMap { $0["fingerprint"] as? String }).count == 4, "four distinct identities")
        #expect(second.allSatisfy { $0["baselineState"] as? String == "unchanged" && ($0["message"] as? String ?? "").hasPrefix("Second") }, "\(second)")
    }
}

import Foundation
import RBChecks
import RBCore
import RBTestSupport
import Testing

/// RB-SYS-006's configuration recovery from a real gzip stream and an IKCONFIG-style block.
@Suite("Kernel configuration recovery")
struct KernelConfigTests {
    @Test("config.gz and a kernel image's IKCFG_ST block are read; nothing recoverable is not applicable")
    func recovery() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-kconfig")
        defer { directory.remove() }
        let config = "CONFIG_MODULES=y\nCONFIG_DEVMEM=y\n# CONFIG_STRICT_DEVMEM is not set\n"
        try config.write(toFile: directory.url("config"), atomically: true, encoding: .utf8)
        _ = try ImageFixtures.sh("gzip -9 -c config > config.gz && { head -c 4096 /dev/urandom; printf 'IKCFG_ST'; cat config.gz; printf 'IKCFG_ED'; head -c 512 /dev/urandom; } > zImage",
                                 in: directory.path)
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: directory.url(name)))) }
        let (fromGz, _) = try await run(KernelConfigCheck.self, "{}", files: ["proc/config.gz": MemoryTree.Item(content: try bytes("config.gz"))])
        #expect(fromGz.map(\.evidence.key) == ["devmem"])
        let (fromImage, _) = try await run(KernelConfigCheck.self, "{}", files: ["boot/zImage": MemoryTree.Item(content: try bytes("zImage"))])
        #expect(fromImage.map(\.evidence.key) == ["devmem"])
        #expect(fromImage.first?.message.contains("IKCONFIG") == true)
        let (nothing, _) = try await run(KernelConfigCheck.self, "{}", files: ["etc/hostname": .file("cam\n")])
        #expect(nothing.map(\.status) == [.notApplicable])
    }
}

/// RB-IFC-004 on environments made by U-Boot's own mkenvimage.
@Suite("U-Boot environment")
struct UBootEnvironmentTests {
    @Test("An env of CONFIG_ENV_SIZE 0x4000 at the start of a 64 KiB MTD dump is validated; no binary gives review")
    func mtdDump() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-uboot")
        defer { directory.remove() }
        try "bootdelay=1\nbootcmd=run flash_boot\nipaddr=192.0.2.10\n".write(toFile: directory.url("env.txt"), atomically: true, encoding: .utf8)
        _ = try ImageFixtures.sh("mkenvimage -s 0x4000 -o env.bin env.txt && { cat env.bin; head -c 49152 /dev/zero | tr '\\000' '\\377'; } > mtd2.img",
                                 in: directory.path)
        let dump = Array(try Data(contentsOf: URL(fileURLWithPath: directory.url("mtd2.img"))))
        #expect(dump.count == 0x10000)
        let (observations, _) = try await run(UBootEnvironmentCheck.self, "{}", files: ["dev/mtd2.img": MemoryTree.Item(content: dump)])
        #expect(observations.map(\.status) == [.review])
        #expect(observations.first?.evidence.facts["bootdelay"] == "1")
        // One flipped byte in the data breaks the CRC: not an environment any more.
        var corrupt = dump
        corrupt[20] ^= 0xff
        let (none, _) = try await run(UBootEnvironmentCheck.self, "{}", files: ["dev/mtd2.img": MemoryTree.Item(content: corrupt)])
        #expect(none.isEmpty)
    }
}

/// RB-WEB-009's binary side on CGI programs compiled in the test.
@Suite("Injection sinks in CGI binaries")
struct InjectionSinkTests {
    @Test("A CGI formatting a shell command with %s for system() is a review result; one using execv with an argument vector is not")
    func binaries() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-cgi")
        defer { directory.remove() }
        try """
        #include <stdio.h>
        #include <stdlib.h>
        int main(void) {
            char command[256];
            const char *query = getenv("QUERY_STRING");
            snprintf(command, sizeof command, "ping -c 1 %s; echo done", query ? query : "");
            return system(command);
        }
        """.write(toFile: directory.url("ping.c"), atomically: true, encoding: .utf8)
        try """
        #include <stdlib.h>
        #include <unistd.h>
        int main(void) {
            const char *query = getenv("QUERY_STRING");
            char *argv[] = {"ping", "-c", "1", (char *)(query ? query : ""), 0};
            return execv("/bin/ping", argv);
        }
        """.write(toFile: directory.url("safe.c"), atomically: true, encoding: .utf8)
        _ = try ImageFixtures.sh("gcc -O2 -o ping.cgi ping.c && gcc -O2 -o safe.cgi safe.c", in: directory.path)
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: directory.url(name)))) }
        let (observations, _) = try await run(InjectionSinkCheck.self, "{}", files: [
            "www/cgi-bin/ping.cgi": MemoryTree.Item(content: try bytes("ping.cgi"), mode: 0o755),
            "www/cgi-bin/safe.cgi": MemoryTree.Item(content: try bytes("safe.cgi"), mode: 0o755),
        ])
        #expect(observations.map(\.location.path) == ["www/cgi-bin/ping.cgi"])
        #expect(observations.first?.status == .review)
        #expect(observations.first?.evidence.snippet?.contains("ping -c 1 %s;") == true, "\(observations.map(\.message))")
    }
}

@Suite("Hidden web endpoints (RB-IFC-007 firmware side)")
struct HiddenEndpointTests {
    @Test("Literals of a boot-started web server, found across 1 MiB read pieces; the profile's documented paths are taken away; the rest is review")
    func literalsAndProfile() async throws {
        let root = try TemporaryDirectory(prefix: "rbscan-hidden")
        defer { root.remove() }
        let piece = 1 << 20
        var binary: [UInt8] = [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: piece - 12)
        binary += Array("/ISAPI/System/backdoorShell".utf8) + [0]       // crosses the first piece's end
        binary += [0] + Array("/ISAPI/System/deviceInfo".utf8) + [0] + Array("/SDK/webLanguage".utf8) + [0]
        binary += Array("x/api/not-a-string-start".utf8) + [0] + [UInt8](repeating: 0, count: 64)
        binary += Array("/cgi-bin".utf8) + [0] + Array("/cgi-bin/".utf8) + [0]    // the CGI prefix setting, not endpoints
        try FixtureWriter.write([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\n/bin/davinci_httpd &\nhttpd -p 80\n"),
            "bin/davinci_httpd": .bytes(binary),
            "usr/sbin/httpd": .bytes(binary),
        ], into: root.path)
        var profile = DeviceProfile(id: "p", title: "p", file: "p.yaml", interfaces: [], sensitivePaths: [])
        profile.documentedPaths = ["/ISAPI/System/deviceInfo"]
        let (observations, diagnostics) = try await run(HiddenEndpointCheck.self, "{}", tree: try DirectoryTree(directory: root.path), profile: profile)
        #expect(diagnostics.isEmpty)
        #expect(observations.map { "\($0.status) \($0.location.path) \($0.evidence.facts["endpoint"] ?? $0.evidence.facts["paths"] ?? "")" } == [
            "fail usr/sbin/httpd /ISAPI/System/backdoorShell",
            "review usr/sbin/httpd /SDK/webLanguage",
        ])
    }

    @Test("Under a web root, handlers count; pages and assets do not, even with the execute bit (web trees shipped 0777)")
    func staticAssetsAreNotHandlers() async throws {
        let root = try TemporaryDirectory(prefix: "rbscan-hidden-assets")
        defer { root.remove() }
        try FixtureWriter.write([
            "web/css/main.css": .file("body{}\n", mode: 0o777),
            "web/help/WanCfgHelpRpm.htm": .file("<html></html>\n", mode: 0o777),
            "web/js/util.js": .file("var a;\n", mode: 0o755),
            "web/userRpm/status": .file("#!/bin/sh\necho ok\n", mode: 0o755),
            "web/cgi-bin/diag.cgi": .file("#!/bin/sh\n", mode: 0o755),
            "web/debug.htm": .file("<html></html>\n", mode: 0o644),
        ], into: root.path)
        let (observations, _) = try await run(HiddenEndpointCheck.self, "{}", tree: try DirectoryTree(directory: root.path))
        #expect(observations.map { "\($0.status) \($0.location.path)" }.sorted() == [
            "fail web/debug.htm", "review web/cgi-bin/diag.cgi", "review web/userRpm/status",
        ])
    }
}

@Suite("Vendor advisories from the image's version metadata (RB-WEB-008)")
struct AdvisoryTests {
    static let options = #"""
        {advisory: TEST-1, vendorPattern: 'ACME', versionPattern: 'V(?<version>\d+\.\d+\.\d+) build (?<build>\d{6})',
         modelPattern: 'AC-\d+', affected: [{models: '^AC-1\d+$', buildFrom: '190101', buildBefore: '210628', fixed: 'V2.0.0 build 210628'},
                                             {models: '^AC-2\d+$', buildBefore: '211015'}]}
        """#

    @Test("Per-model ranges: in range fails with the fixed version, outside passes; a missing named group or a bad date is an option error")
    func ranges() async throws {
        let cases: [(String, Int)] = [
            ("ACME AC-100 V1.9.0 build 200101\n", 1),   // in AC-1xx's range
            ("ACME AC-100 V1.0.0 build 180101\n", 0),   // before buildFrom
            ("ACME AC-100 V1.9.9 build 210701\n", 0),   // AC-1xx fixed
            ("ACME AC-200 V1.9.9 build 210701\n", 1),   // AC-2xx's later cut-off
            ("OTHER AC-200 V1.9.9 build 210701\n", 0),  // no vendor mark
        ]
        for (text, expected) in cases {
            let (observations, diagnostics) = try await run(AdvisoryCheck.self, Self.options, files: ["etc/version": .file(text)])
            #expect(diagnostics.isEmpty)
            #expect(observations.count == expected, "\(text)")
        }
        let (failing, _) = try await run(AdvisoryCheck.self, Self.options, files: ["etc/version": .file(cases[0].0)])
        #expect(failing.first?.message.contains("fixed in V2.0.0 build 210628") == true)
        #expect(failing.first?.evidence.facts["build"] == "200101")
        for bad in [#"{advisory: A, vendorPattern: x, versionPattern: 'V(\d+)', affected: [{buildBefore: '210628'}]}"#,
                    #"{advisory: A, vendorPattern: x, versionPattern: '(?<version>\d) (?<build>\d+)', affected: [{buildBefore: '211341'}]}"#] {
            #expect(throws: CheckOptionError.self) {
                _ = try AdvisoryCheck(options: try NodeDecoder(file: "o").decode(AdvisoryCheck.Options.self, from: try NodeDecoder.compose(bad, file: "o")))
            }
        }
    }
}

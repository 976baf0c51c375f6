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

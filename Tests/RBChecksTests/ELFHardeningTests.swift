import Foundation
import RBChecks
import RBCore
import RBTestSupport
import Testing

/// RB-SYS-002 on real binaries: a small C program compiled in the test with and without each
/// hardening flag, by the host gcc (x86-64), and by Debian's ARM (32-bit little endian) and MIPS
/// (32-bit big endian) cross compilers; stripped and static variants.
@Suite("ELF hardening from headers", .serialized)
struct ELFHardeningTests {
    static let program = """
    #include <stdio.h>
    #include <stdlib.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        char buffer[64];
        ssize_t n = read(0, buffer, argc > 1 ? (size_t)atoi(argv[1]) : 1);
        if (n > 0) {
            buffer[n < 63 ? n : 63] = 0;
            sprintf(buffer + 1, "%s", argv[0]);
            puts(buffer);
        }
        return 0;
    }
    """
    static let full = ["-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-fPIE", "-pie", "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack"]

    /// Each variant: the flags that replace the hardened ones, and the properties then missing.
    static let variants: [(name: String, flags: [String], missing: [String])] = [
        ("full", full, []),
        ("execstack", full.filter { $0 != "-Wl,-z,noexecstack" } + ["-z", "execstack"], ["nx"]),
        ("nopie", full.filter { $0 != "-fPIE" && $0 != "-pie" } + ["-fno-pie", "-no-pie"], ["pie"]),
        ("norelro", full.filter { $0 != "-Wl,-z,relro,-z,now" } + ["-Wl,-z,norelro,-z,now"], ["relro"]),
        ("lazy", full.filter { $0 != "-Wl,-z,relro,-z,now" } + ["-Wl,-z,relro,-z,lazy"], ["bindnow"]),
        ("nocanary", full.filter { $0 != "-fstack-protector-strong" } + ["-fno-stack-protector"], ["canary"]),
        ("nofortify", full.filter { $0 != "-D_FORTIFY_SOURCE=2" } + ["-U_FORTIFY_SOURCE"], ["fortify"]),
        ("none", ["-O2", "-fno-stack-protector", "-U_FORTIFY_SOURCE", "-fno-pie", "-no-pie", "-Wl,-z,norelro,-z,lazy", "-z", "execstack"],
         ["nx", "pie", "relro", "bindnow", "canary", "fortify"]),
    ]

    static let compilers = ["gcc", "arm-linux-gnueabihf-gcc", "mips-linux-gnu-gcc"]

    @Test("Each flag removed shows as exactly that property missing, on x86-64, ARM and MIPS, stripped or not", arguments: compilers)
    func variants(compiler: String) throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-elf")
        defer { directory.remove() }
        try Self.program.write(toFile: directory.url("p.c"), atomically: true, encoding: .utf8)
        for variant in Self.variants {
            let output = directory.url(variant.name)
            _ = try ImageFixtures.sh("\(compiler) \(variant.flags.joined(separator: " ")) -o \(output) p.c", in: directory.path)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output)))
            let verdict = try #require(ELFHardeningCheck.judge(bytes), "\(compiler) \(variant.name)")
            #expect(verdict.missing == variant.missing, "\(compiler) \(variant.name): \(verdict.facts)")
            #expect(verdict.unknown.isEmpty, "\(compiler) \(variant.name)")
            // Stripped: the dynamic symbols and headers are all that is needed.
            let strip = compiler.replacingOccurrences(of: "gcc", with: "strip")
            _ = try ImageFixtures.sh("\(strip) --strip-all -o \(output).stripped \(output)")
            let stripped = Array(try Data(contentsOf: URL(fileURLWithPath: output + ".stripped")))
            #expect(ELFHardeningCheck.judge(stripped)?.missing == variant.missing, "\(compiler) \(variant.name) stripped")
        }
    }

    @Test("Static binaries: the canary cannot be told (libc brings __stack_chk_fail either way): a review result")
    func staticBinaries() throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-elf")
        defer { directory.remove() }
        try Self.program.write(toFile: directory.url("p.c"), atomically: true, encoding: .utf8)
        _ = try ImageFixtures.sh("gcc -static -O2 -fstack-protector-strong -Wl,-z,noexecstack -o s p.c && strip --strip-all -o s.stripped s"
                                 + " && gcc -static -O2 -fno-stack-protector -Wl,-z,noexecstack -o plain p.c", in: directory.path)
        for name in ["s", "s.stripped", "plain"] {
            let verdict = try #require(ELFHardeningCheck.judge(Array(try Data(contentsOf: URL(fileURLWithPath: directory.url(name))))))
            #expect(verdict.unknown == ["canary"], "\(name): \(verdict.facts)")
            #expect(verdict.facts["linking"] == "static" && verdict.facts["bindnow"] == "n/a")
            #expect(verdict.missing == ["pie"], "\(name)")
        }
    }

    @Test("A scanned root: one result per weak binary with the coverage; text files, libraries and truncated ELFs are passed over")
    func scannedRoot() async throws {
        let directory = try TemporaryDirectory(prefix: "rbscan-elf")
        defer { directory.remove() }
        try Self.program.write(toFile: directory.url("p.c"), atomically: true, encoding: .utf8)
        _ = try ImageFixtures.sh("gcc \(Self.full.joined(separator: " ")) -o good p.c && gcc -O2 -fno-stack-protector -no-pie -z execstack -o weak p.c"
                                 + " && gcc -shared -fPIC -o libx.so p.c", in: directory.path)
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: directory.url(name)))) }
        let weak = try bytes("weak")
        let (observations, diagnostics) = try await run(ELFHardeningCheck.self, "{}", files: [
            "usr/sbin/good": MemoryTree.Item(content: try bytes("good"), mode: 0o755),
            "www/cgi-bin/weak.cgi": MemoryTree.Item(content: weak, mode: 0o755),
            "usr/bin/truncated": MemoryTree.Item(content: Array(weak.prefix(40)), mode: 0o755),
            "usr/lib/libx.so": MemoryTree.Item(content: try bytes("libx.so")),
            "usr/sbin/start.sh": .file("#!/bin/sh\n"),
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(observations.map(\.location.path) == ["www/cgi-bin/weak.cgi"])
        let weakResult = try #require(observations.first)
        #expect(weakResult.severity == nil)         // NX missing: the rule's severity (medium)
        #expect(weakResult.evidence.facts["coverage"] == "1/2 (50%)")
        #expect(weakResult.message.contains("NX") && weakResult.message.contains("PIE") && weakResult.message.contains("stack canary"))
        #expect(optionError(ELFHardeningCheck.self, "{require: [nx, aslr]}")?.contains("aslr") == true)

        // A daemon outside the system directories is judged because the boot model starts it.
        let (started, _) = try await run(ELFHardeningCheck.self, "{}", files: [
            "mnt/app/ipcam": MemoryTree.Item(content: weak, mode: 0o755),
            "mnt/app/unused": MemoryTree.Item(content: weak, mode: 0o755),
            "etc/init.d/rcS": .file("#!/bin/sh\n/mnt/app/ipcam -d &\n"),
        ])
        #expect(started.map(\.location.path) == ["mnt/app/ipcam"])
    }
}

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

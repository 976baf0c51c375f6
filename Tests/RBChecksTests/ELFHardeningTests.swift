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

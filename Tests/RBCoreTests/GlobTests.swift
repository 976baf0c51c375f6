import RBCore
import RBTestSupport
import Testing

@Suite("Glob patterns")
struct GlobTests {
    @Test(arguments: [
        ("etc/passwd", "etc/passwd", true),
        ("/etc/passwd", "etc/passwd", true),
        ("etc/*", "etc/passwd", true),
        ("etc/*", "etc/init.d/rcS", false),
        ("etc/**", "etc/init.d/rcS", true),
        ("**/*.xml", "device.xml", true),
        ("**/*.xml", "a/b/c/device.xml", true),
        ("**/*.xml", "a/b/c/device.xmlx", false),
        ("etc/rc*.d/*", "etc/rc5.d/S01x", true),
        ("**/systemd/system/*.{service,socket}", "lib/systemd/system/ssh.socket", true),
        ("**/systemd/system/*.{service,socket}", "lib/systemd/system/ssh.timer", false),
        ("**/.{git,svn}", "www/.git", true),
        ("**/*~", "etc/config~", true),
        ("root/*", "root/.ash_history", true),
        ("**/{bin,sbin}/{gdb,strace}", "usr/sbin/strace", true),
        ("etc/[ab]*", "etc/ash", true),
        ("etc/[ab]*", "etc/csh", false),
        ("**/*config*", "etc/default/config.bin", true),
        ("**/*config*", "etc/default/cfg.bin", false),
        ("**/*{version,release}*", "etc/os-release", true),
        ("**/cgi-bin/**", "www/cgi-bin/a/b.cgi", true),
        ("**/cgi-bin/**", "www/cgi/bin.cgi", false),
        ("**/mariadb*/**/*.cnf", "etc/mysql/mariadb.conf.d/50-server.cnf", true),
        ("**/mariadb*/**/*.cnf", "etc/mysql/conf.d/mariadb.cnf", false),
    ])
    func matches(pattern: String, path: String, expected: Bool) throws {
        #expect(try Glob(pattern).matches(path) == expected)
    }

    @Test func rejectsBrokenPatterns() {
        #expect(throws: GlobError.self) { try Glob("etc/{a,b") }
        #expect(throws: GlobError.self) { try Glob("") }
    }

    @Test func basenameMatchingForConfigTargets() throws {
        #expect(try Glob("**/*.xml").matchesBasename("device.xml"))
        #expect(try Glob("etc/lighttpd/lighttpd.conf").matchesBasename("lighttpd.conf"))
        #expect(try !Glob("etc/sysctl.conf").matchesBasename("device.xml"))
    }

    /// More than 64 entries under a pattern's directory: the look-up goes through the sorted
    /// names (literal, prefix and suffix last segments, a pattern's literal head or tail), scans
    /// the names for `*text*`, or takes the range below a prefix, and must agree with testing
    /// each path.
    @Test func nameIndexLookupAgreesWithBruteForce() throws {
        var generator = SplitMix(seed: 7)
        let letters = Array("ab.c")
        var paths = Set<String>()
        while paths.count < 600 {
            let depth = Int(generator.next() % 3) + 1
            var parts: [String] = []
            for _ in 0..<depth {
                let length = Int(generator.next() % 5) + 1
                parts.append(String((0..<length).map { _ in letters[Int(generator.next() % UInt64(letters.count))] }))
            }
            paths.insert(parts.joined(separator: "/"))
        }
        // Every parent directory too, as a real tree has.
        for path in Array(paths) {
            var parts = path.split(separator: "/").dropLast()
            while !parts.isEmpty {
                paths.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        let entries = paths.map { FileEntry(path: $0, type: .file) }
        let index = PathIndex(entries)
        for pattern in ["**/ab", "**/a", "**/ab*", "**/a*", "**/*ab", "**/*b", "**/*.c", "**/c.*", "a/**/b*", "**/*.cab",
                        "**/{ab,ba}", "**/abcab", "**/.*", "**/*.",
                        // Patterns narrowed by their literal head or tail, names containing a text.
                        "**/a?b", "**/ab*.c", "**/*b.?", "**/[ab]c*", "**/a*[bc]", "**/?", "**/*ab*", "**/*.*",
                        // Everything below a prefix: `a.b` sorts between `a` and `a/` in byte order.
                        "a/**", "ab/**", "a.b/**", "**", "c/a/**"] {
            let glob = try Glob(pattern)
            let expected = Set(paths.filter { glob.matches($0) })
            #expect(Set(index.entries(matching: [glob]).map(\.path)) == expected, "pattern \(pattern)")
        }
    }

    /// Sparse selections are kept as lists, dense ones as bitsets: both read back the same.
    @Test func positionsAgreeInBothForms() {
        var generator = SplitMix(seed: 11)
        var made: [(Positions, [Int])] = []
        for density in [0, 1, 3, 30, 60, 100] {
            let size = 3000
            let expected = (0..<size).filter { _ in Int(generator.next() % 100) < density }
            let positions = Positions(expected)
            #expect(Array(positions) == expected)
            #expect(positions.count == expected.count)
            for (i, position) in expected.enumerated() where i % 7 == 0 { #expect(positions[i] == position) }
            for probe in stride(from: 0, to: size + 70, by: 13) { #expect(positions.contains(probe) == expected.contains(probe)) }
            made.append((positions, expected))
        }
        let union = Positions.union(made.map(\.0))
        #expect(Array(union) == Array(Set(made.flatMap(\.1))).sorted())
        #expect(Positions([1, 2, 3]) == Positions([1, 2, 3]) && Positions([1, 2]) != Positions([1, 3]))
    }

    @Test func indexLookupAgreesWithBruteForce() throws {
        let paths = ["etc", "etc/a", "etc/b/c", "etc-x", "etc-x/y", "etcz", "bin", "bin/sh", "usr/etc/a", "etc/b"]
        let entries = paths.map { FileEntry(path: $0, type: $0.contains("/") ? .file : .directory) }
        let index = PathIndex(entries)
        for pattern in ["etc/**", "etc/*", "etc", "**/a", "etc-x/*", "*", "usr/**/a", "{etc,bin}/*"] {
            let glob = try Glob(pattern)
            let expected = Set(paths.filter { glob.matches($0) })
            #expect(Set(index.entries(matching: [glob]).map(\.path)) == expected, "pattern \(pattern)")
        }
    }
}

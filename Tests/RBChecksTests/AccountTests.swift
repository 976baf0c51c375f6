@testable import RBChecks
import RBCore
import RBTestSupport
import Testing

/// The acceptance fixture: weak and default passwords are found, each naming its account; strong
/// hashes and locked accounts are not flagged.
@Suite("Accounts and passwords")
struct AccountTests {
    static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        admin:x:1000:1000:admin:/home/admin:/bin/sh
        user:x:1001:1001::/home/user:/bin/sh
        support:x:0:0:support:/:/bin/sh
        guest:x:1002:1002::/home/guest:/bin/sh
        operator:x:1003:1003::/:/bin/sh
        dvr:x:1004:1004::/:/bin/sh
        nobody:x:65534:65534::/:/bin/false
        locked1:x:1005:1005::/:/bin/sh
        locked2:x:1006:1006::/:/bin/sh
        strong1:x:1007:1007::/:/bin/sh
        strong2:x:1008:1008::/:/bin/sh
        daemon:x:2:2::/:/bin/sh
        empty:x:1009:1009::/:/bin/sh
        nopw:x:1010:1010::/:/bin/sh

        """
    // root/12345 (MD5-crypt), admin/admin and user/password and operator/root and dvr/888888
    // (SHA-512-crypt), support/xc3511 (DES), guest: empty. Strong: SHA-512 and yescrypt of a
    // random password. Locked: ! and * (one locking a default password).
    static let shadow = """
        root:$1$rbscan01$8d.6dUaQv4EvaAwFIcUqc1:19000:0:99999:7:::
        admin:$6$rbscanexample$mbUb22CN3DnfUCnxMnT3YkXxNkXIMfTwJQHLd88fevVRJnWDSZ0OKcJiFMXsUYLyUNp/oQPfWDyTGhfaR6nyh0:19000::::::
        user:$6$rbscansalt04$kz.iLYd5za8VSlylsccBKwE3gpHboHmRyMgAS6xJbbRbUAWFqr4IizYX6ZTiGbd9OSaCw8BuHNZ22vFYt8exm.:19000::::::
        support:absxcfbgXtb3o:19000::::::
        guest::19000::::::
        operator:$6$rbscansalt03$abCo967prhqS.aw1eZ1qhi84.IpK7W5xXX8NG11KcQggiEGL78rJXD8UXKpZ5SY2mUgY9z1b6/I.Pji9tW.tc.:19000::::::
        dvr:$6$rbscansalt02$KkLM4IxPxrF5ZaNea9zBwPKzQMoiIh1dF.dpH8xityGToqz7SujCH0mWhgJUpGZN7WgYNzBE/q/2CiVKUNAte1:19000::::::
        nobody:*:19000::::::
        locked1:!$1$rbscan01$8d.6dUaQv4EvaAwFIcUqc1:19000::::::
        locked2:!!:19000::::::
        strong1:$6$rbscanstrong1$ZdUBhM0waQ5afE.db3uTauAox3iWoyWdbCNvsSsW6jifj0Tx9HV5aT5k1637CkBzvddi394z0uWC0U1OGvAYj/:19000::::::
        strong2:$y$j9T$8HLBWfNPe9md3uRDbpm2X.$X6Pj9OTZiC.3thB728pgyTr5u5wvqRlm9RpLaPA5z20:19000::::::
        daemon:*:19000::::::
        empty::19000::::::

        """
    static let files: [String: MemoryTree.Item] = [
        "etc/passwd": .file(passwd),
        "etc/shadow": .file(shadow, mode: 0o600),
    ]

    @Test func defaultPasswordsAreFoundAndNamed() async throws {
        let (obs, diags) = try await run(DefaultPasswordCheck.self, "{}", files: Self.files)
        #expect(diags.isEmpty, "\(diags)")
        let accounts = obs.compactMap { $0.evidence.facts["account"] }.sorted()
        #expect(accounts == ["admin", "dvr", "operator", "root", "support", "user"])
        // The message names the account and the algorithm, never the password.
        for o in obs {
            let account = o.evidence.facts["account"]!, algorithm = o.evidence.facts["algorithm"]!
            #expect(o.message == "account '\(account)' has a default or guessable password (it matched the default-credential dictionary; \(algorithm))")
        }
        #expect(obs.allSatisfy { $0.location.path == "etc/shadow" && $0.location.line != nil })
        #expect(obs.first { $0.evidence.facts["account"] == "root" }?.location.line == 1)
    }

    @Test func emptyPasswordsButNotLockedOnes() async throws {
        let (obs, _) = try await run(EmptyPasswordCheck.self, "{}", files: Self.files)
        #expect(obs.compactMap { $0.evidence.facts["account"] }.sorted() == ["empty", "guest"])
        // passwd entry without shadow: the passwd field counts.
        let (busybox, _) = try await run(EmptyPasswordCheck.self, "{}", files: ["etc/passwd": .file("root::0:0::/root:/bin/sh\nadmin:x:1:1::/:/bin/sh\n")])
        #expect(busybox.map(\.location) == [Location(path: "etc/passwd", line: 1)])
    }

    @Test func extraUIDZero() async throws {
        let (obs, _) = try await run(UIDZeroCheck.self, "{}", files: Self.files)
        #expect(obs.map(\.message) == ["account 'support' has UID 0: a second root"])
        #expect(obs.first?.location == Location(path: "etc/passwd", line: 4))
    }

    @Test func weakHashesAreClassified() async throws {
        let (obs, _) = try await run(WeakHashCheck.self, "{}", files: Self.files)
        let flagged = Dictionary(uniqueKeysWithValues: obs.map { ($0.evidence.facts["account"]!, $0.evidence.facts["algorithm"]!) })
        #expect(flagged == ["root": "MD5-crypt ($1$)", "support": "DES crypt"])
    }

    @Test func serviceAccountsWithShellAndPassword() async throws {
        var files = Self.files
        files["etc/shadow"] = .file(Self.shadow.replacingOccurrences(of: "daemon:*:", with: "daemon:$1$rbscan01$8d.6dUaQv4EvaAwFIcUqc1:"))
        let (obs, _) = try await run(ServiceAccountCheck.self, "{}", files: files)
        #expect(obs.compactMap { $0.evidence.facts["account"] } == ["daemon"])
        let (none, _) = try await run(ServiceAccountCheck.self, "{}", files: Self.files)
        #expect(none.isEmpty)
    }

    @Test func sharedHashes() async throws {
        let (none, _) = try await run(DuplicateHashCheck.self, "{}", files: Self.files)
        #expect(none.isEmpty)
        let twice = Self.shadow + "clone:$6$rbscanstrong1$ZdUBhM0waQ5afE.db3uTauAox3iWoyWdbCNvsSsW6jifj0Tx9HV5aT5k1637CkBzvddi394z0uWC0U1OGvAYj/:1::::::\n"
        let (obs, _) = try await run(DuplicateHashCheck.self, "{}", files: ["etc/shadow": .file(twice)])
        #expect(obs.map(\.message) == ["account 'clone' has the same password hash as 'strong1'"])
    }

    @Test(arguments: [
        ("", PasswordHash.Kind.empty), ("x", .shadowed), ("*", .locked), ("!", .locked), ("!!", .locked),
        ("!$6$a$b", .locked), ("*LK*", .locked), ("absxcfbgXtb3o", .des), ("_J9..abcdEFGHIJKLMNO", .bsdi),
        ("$1$a$b", .md5), ("$apr1$a$b", .apr1), ("$5$rounds=1000$a$b", .sha256), ("$6$a$b", .sha512),
        ("$2b$08$abc", .bcrypt), ("$y$j9T$a$b", .yescrypt), ("$7$abc", .scrypt), ("letmein", .unknown),
    ])
    func hashKinds(field: String, kind: PasswordHash.Kind) {
        #expect(PasswordHash(field).kind == kind)
    }

    @Test func costsAreRead() {
        #expect(PasswordHash("$5$rounds=1000$a$b").cost == 1000)
        #expect(PasswordHash("$6$a$b").cost == 5000)
        #expect(PasswordHash("$2b$08$abc").cost == 8)
    }

    /// Apache's $apr1$ and {SHA} computed here agree with `openssl passwd -apr1` and `openssl dgst`.
    @Test func htpasswdFormatsAgreeWithOpenSSL() throws {
        let result = try runProcess("/usr/bin/env", ["openssl", "passwd", "-apr1", "-salt", "rbscan12", "camera123"])
        let expected = String(result.stdout.trimmingWhitespace())
        #expect(expected.hasPrefix("$apr1$rbscan12$"))
        let hashes = HtpasswdHashes()
        #expect(hashes.apr1(Array("camera123".utf8), salt: Array("rbscan12".utf8)) == expected)
        #expect(hashes.matches(password: Array("camera123".utf8), hash: expected) == true)
        #expect(hashes.matches(password: Array("camera124".utf8), hash: expected) == false)
        #expect(hashes.matches(password: Array("admin".utf8), hash: "{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=") == true)
        #expect(hashes.matches(password: Array("x".utf8), hash: "$6$a$b") == nil)
    }

    @Test func htpasswdDefaultsAreFound() async throws {
        let (obs, _) = try await run(DefaultPasswordCheck.self, "{files: ['www/.htpasswd']}", files: [
            "www/.htpasswd": .file("admin:$apr1$rbscan12$Z0NTnKlb4hpYOxqQEIJbX1\nguest:{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=\nops:$apr1$rbscan12$zzzzzzzzzzzzzzzzzzzzzz\n"),
        ])
        #expect(obs.compactMap { $0.evidence.facts["account"] }.sorted() == ["admin", "guest"])
    }

    @Test func timeBudgetIsReported() async throws {
        let cracker = Cracker(threads: 2, budget: .milliseconds(1))
        let jobs = (0..<4).map { _ in
            Cracker.Job(hash: "$y$j9T$8HLBWfNPe9md3uRDbpm2X.$X6Pj9OTZiC.3thB728pgyTr5u5wvqRlm9RpLaPA5z20",
                        candidates: (0..<500).map { "candidate\($0)" })
        }
        let outcome = cracker.run(jobs)
        #expect(outcome.timedOut)
        #expect(outcome.tried < outcome.total)
        #expect(outcome.matches.isEmpty)
    }
}

@Suite("Credential-store prefilter")
struct SecretKeyPrefilterTests {
    @Test("Every key isSecretKey accepts passes the file prefilter; files without a stem are skipped")
    func prefilterNeverHidesASecretKey() {
        let keys = ["password", "PASSWORD", "adminPassword", "db_passwd", "wifi.psk", "Secret", "api-secret", "credentials",
                    "x.pwd", "userPwd", "passphrase", "rootPass", "mqtt_PASS", "Credential", "sPsk", "token_secret"]
        for key in keys {
            #expect(StoredSecret.isSecretKey(key) == true, "\(key)")
            #expect(StoredSecret.mayHoldSecretKey("# config\n\(key) = x\n"), "\(key)")
        }
        #expect(!StoredSecret.mayHoldSecretKey("user = admin\nport = 8080\nname = cam\n"))
        #expect(!StoredSecret.mayHoldSecretKey(""))
        #expect(!StoredSecret.mayHoldSecretKey("pas"))
        #expect(StoredSecret.mayHoldSecretKey("PwD"))
    }
}

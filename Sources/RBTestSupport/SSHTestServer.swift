import CSafeSystem
import Foundation
import RBCrypto

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH `sshd` or Dropbear on 127.0.0.1 with fresh host keys, for endpoint tests. The
/// port is the kernel's pick; the server is polled until it accepts; `stop()` kills it and
/// removes its files.
public final class SSHTestServer: @unchecked Sendable {
    public enum Kind: Sendable { case openssh, dropbear }

    public let port: UInt16
    public let directory: TemporaryDirectory
    let process: SpawnedProcess

    /// `hostKeys` are `ssh-keygen`/`dropbearkey` specs (`rsa:1024`, `ed25519`, `ecdsa:256`);
    /// `options` are sshd_config lines (OpenSSH) or extra arguments (Dropbear).
    public init(_ kind: Kind, hostKeys: [String], options: [String] = []) throws {
        directory = try TemporaryDirectory(prefix: "rbscan-ssh")
        var keyFiles: [String] = []
        for (i, spec) in hostKeys.enumerated() {
            let parts = spec.split(separator: ":").map(String.init)
            let file = directory.url("host_key_\(i)")
            switch kind {
            case .openssh:
                try ImageFixtures.sh("ssh-keygen -q -N '' -t \(parts[0])" + (parts.count > 1 ? " -b \(parts[1])" : "") + " -f \(file)")
            case .dropbear:
                try ImageFixtures.sh("dropbearkey -t \(parts[0])" + (parts.count > 1 ? " -s \(parts[1])" : "") + " -f \(file) >/dev/null 2>&1")
            }
            keyFiles.append(file)
        }
        let directory = self.directory
        if kind == .openssh {
            // sshd refuses to start without its privilege-separation directory (created by the
            // package's tmpfiles at boot, which a container never runs).
            try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        }
        do {
            (process, port) = try LoopbackProcess.launch(kind == .openssh ? "/usr/sbin/sshd" : "/usr/sbin/dropbear") { port in
                switch kind {
                case .openssh:
                    let config = (["ListenAddress 127.0.0.1:\(port)", "PidFile none", "UsePAM no"] + keyFiles.map { "HostKey \($0)" } + options)
                        .joined(separator: "\n") + "\n"
                    try? config.write(toFile: directory.url("sshd_config"), atomically: true, encoding: .utf8)
                    return ["-D", "-e", "-f", directory.url("sshd_config")]
                case .dropbear:
                    return ["-F", "-E", "-p", "127.0.0.1:\(port)"] + keyFiles.flatMap { ["-r", $0] } + options
                }
            }
        } catch {
            directory.remove()
            throw error
        }
    }

    public var uri: String { "ssh://127.0.0.1:\(port)" }

    /// The public key of host key `index` as OpenSSH's `SHA256:` fingerprint, hex-encoded.
    public func fingerprintHex(_ index: Int) throws -> String {
        let file = directory.url("host_key_\(index)")
        let publicKey = FileManager.default.fileExists(atPath: file + ".pub")
            ? file + ".pub" : file
        let line = try ImageFixtures.sh(publicKey.hasSuffix(".pub") ? "ssh-keygen -lf \(publicKey)"
                                        : "dropbearkey -y -f \(file) | grep '^ssh-' | ssh-keygen -lf -")
        guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("SHA256:") }),
              let data = Base64.decode(String(field.dropFirst(7)), .lenient) else {
            throw TestSupportError("no fingerprint in \(line)")
        }
        return Hex.encode(data)
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}

/// A server process started with posix_spawn (standard streams on /dev/null). Not Foundation's
/// `Process`: it watches a socket the child inherits and takes its closing for the child's exit,
/// so a daemon that closes inherited descriptors (sshd's closefrom) leaves it blocked in waitpid
/// and every later `Process` wait hangs.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t

    public init(_ executable: String, _ arguments: [String]) throws {
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        // Nothing of the test process but /dev/null: tests run in parallel, and a server that
        // inherited another test's pipe to its rbscan kept that test from ever reading EOF (two
        // such servers deadlocked a full run).
        let rc = rb_spawn_detached(executable, argv, environ, &pid)
        guard rc == 0 else { throw TestSupportError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    public var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGKILL and reap (servers such as s_server ignore SIGTERM while they wait in accept).
    public func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}

/// Starts a server process on a kernel-picked 127.0.0.1 port and waits until it accepts.
public enum LoopbackProcess {
    public static func launch(_ executable: String, arguments: (UInt16) -> [String]) throws -> (SpawnedProcess, UInt16) {
        var lastError = "no attempt"
        for _ in 0..<5 {
            let port = try TLSTestServer.freePort()
            let process = try SpawnedProcess(executable, arguments(port))
            for _ in 0..<100 where process.isRunning {
                if TLSTestServer.accepts(port) { return (process, port) }
                usleep(50_000)
            }
            process.stop()
            lastError = "\(executable) \(arguments(port).joined(separator: " ")) did not accept on 127.0.0.1:\(port)"
        }
        throw TestSupportError(lastError)
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `openssl s_server` on 127.0.0.1 with a fresh self-signed certificate, for endpoint
/// tests. The port is picked by the kernel (bind to port 0, read it back, release it) and the
/// server is polled until it accepts; `stop()` kills it and removes its files.
public final class TLSTestServer: @unchecked Sendable {
    public let port: UInt16
    let process: SpawnedProcess
    let directory: TemporaryDirectory

    /// `arguments` are extra s_server options (`-tls1`, `-cipher …`).
    /// `keySpec` and `digest` shape the self-signed certificate, valid for a year from now or,
    /// with `validity` (`YYYYMMDDHHMMSSZ` start and end), for that window (`openssl ca`
    /// self-signs with explicit dates, so an expired certificate is a real one).
    /// `sharing`: serve the certificate and key of another test server (a key cloned across devices).
    public init(_ arguments: [String], keySpec: String = "rsa:2048", digest: String = "sha256",
                validity: (start: String, end: String)? = nil, sharing other: TLSTestServer? = nil) throws {
        directory = try TemporaryDirectory(prefix: "rbscan-tls")
        if let other {
            try FileManager.default.copyItem(atPath: other.directory.url("cert.pem"), toPath: directory.url("cert.pem"))
            try FileManager.default.copyItem(atPath: other.directory.url("key.pem"), toPath: directory.url("key.pem"))
        } else if let validity {
            let config = """
            [ca]
            default_ca = test
            [test]
            database = index.txt
            new_certs_dir = .
            serial = serial
            policy = names
            default_md = \(digest)
            [names]
            commonName = supplied

            """
            try config.write(toFile: directory.url("ca.cnf"), atomically: true, encoding: .utf8)
            try ImageFixtures.sh("""
                : > index.txt && echo 01 > serial && \
                openssl req -new -newkey \(keySpec) -nodes -keyout key.pem -out request.csr -subj /CN=rbscan-test 2>/dev/null && \
                openssl ca -batch -config ca.cnf -selfsign -keyfile key.pem -in request.csr -out cert.pem -notext \
                  -startdate \(validity.start) -enddate \(validity.end) 2>/dev/null
                """, in: directory.path)
        } else {
            try ImageFixtures.sh("openssl req -x509 -newkey \(keySpec) -\(digest) -nodes -keyout key.pem -out cert.pem -days 365 -subj /CN=rbscan-test 2>/dev/null",
                                 in: directory.path)
        }
        let directory = self.directory
        do {
            (process, port) = try LoopbackProcess.launch("/usr/bin/openssl") { port in
                ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", directory.url("cert.pem"),
                 "-key", directory.url("key.pem"), "-www", "-quiet"] + arguments
            }
        } catch {
            directory.remove()
            throw error
        }
    }

    public var uri: String { "tls://127.0.0.1:\(port)" }

    public func stop() {
        process.stop()
        directory.remove()
    }

    /// A port on 127.0.0.1 nothing listens on (the kernel's pick for port 0, released).
    public static func freePort(udp: Bool = false) throws -> UInt16 {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("bind 127.0.0.1:0 failed") }
        return UInt16(bigEndian: address.sin_port)
    }

    public static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }
}

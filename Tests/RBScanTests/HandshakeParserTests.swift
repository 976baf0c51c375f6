import Testing
import RBCore
@testable import RBNet

/// The ServerHello parser on hand-built records: the shapes real servers send.
@Suite("TLS record parsing")
struct HandshakeParserTests {
    func serverHello(suite: UInt16, supportedVersion: UInt16? = nil, session: Int = 32) -> [UInt8] {
        var body: [UInt8] = [3, 3] + [UInt8](repeating: 7, count: 32) + [UInt8(session)] + [UInt8](repeating: 1, count: session)
        body += [UInt8(suite >> 8), UInt8(suite & 0xff), 0]
        if let supportedVersion {
            let ext: [UInt8] = [0x00, 0x2b, 0, 2, UInt8(supportedVersion >> 8), UInt8(supportedVersion & 0xff)]
            body += [0, UInt8(ext.count)] + ext
        }
        return [2, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    func record(_ type: UInt8, _ fragment: [UInt8]) -> [UInt8] {
        [type, 3, 3, UInt8(fragment.count >> 8), UInt8(fragment.count & 0xff)] + fragment
    }

    @Test("A TLS 1.2 ServerHello gives its version and suite")
    func tls12() {
        #expect(ServerHelloParser.parse(record(0x16, serverHello(suite: 0xc02f))) == .hello(ServerHello(version: 0x0303, suite: 0xc02f)))
    }

    @Test("TLS 1.3 is read from supported_versions, not the legacy version field")
    func tls13() {
        #expect(ServerHelloParser.parse(record(0x16, serverHello(suite: 0x1301, supportedVersion: 0x0304)))
                == .hello(ServerHello(version: 0x0304, suite: 0x1301, extensions: [0x002b: [3, 4]])))
    }

    @Test("A ServerHello split over two records waits for the second, then parses")
    func split() {
        let hello = serverHello(suite: 0x009c)
        let first = record(0x16, Array(hello.prefix(20)))
        #expect(ServerHelloParser.parse(first) == nil)
        #expect(ServerHelloParser.parse(first + record(0x16, Array(hello.dropFirst(20)))) == .hello(ServerHello(version: 0x0303, suite: 0x009c)))
    }

    @Test("An incomplete record waits for more bytes")
    func partial() {
        #expect(ServerHelloParser.parse(Array(record(0x16, serverHello(suite: 0x002f)).prefix(30))) == nil)
    }

    @Test("Alerts, plain text and other handshake messages are told apart")
    func others() {
        #expect(ServerHelloParser.parse(record(0x15, [2, 40])) == .alert(40))
        #expect(ServerHelloParser.parse(Array("HTTP/1.0 400 Bad Request\r\n\r\n".utf8)) == .garbage)
        #expect(ServerHelloParser.parse(record(0x16, [11, 0, 0, 0])) == .garbage)
        #expect(ServerHelloParser.parse(record(0x16, [2, 0, 0, 4, 3, 3, 0, 0])) == .garbage)   // truncated hello body
    }

    @Test("A HelloRetryRequest is recognised by its random and names the group the server selected")
    func retryRequest() throws {
        var body: [UInt8] = [3, 3] + ServerHello.retryRandom + [0, 0x13, 0x01, 0]
        let extensions: [UInt8] = [0x00, 0x2b, 0, 2, 3, 4, 0x00, 0x33, 0, 2, 0x00, 0x17]
        body += [0, UInt8(extensions.count)] + extensions
        let message: [UInt8] = [2, 0, 0, UInt8(body.count)] + body
        guard case .hello(let hello)? = ServerHelloParser.parse(record(0x16, message)) else {
            Issue.record("no hello")
            return
        }
        #expect(hello.isRetryRequest)
        #expect(hello.version == 0x0304)
        #expect(hello.keyShareGroup == 23)
    }

    @Test("The first flight is read to the ServerKeyExchange: DHE prime size, ECDHE named curve")
    func serverKeyExchange() throws {
        let hello = serverHello(suite: 0x009e)
        var prime = [UInt8](repeating: 0xff, count: 128)
        prime[0] = 0x7f                                                    // a 1023-bit prime
        let dhe: [UInt8] = [0, 128] + prime + [0, 1, 2] + [0, 1, 5]
        let certificate: [UInt8] = [11, 0, 0, 3, 0, 0, 0]
        let keyExchange: [UInt8] = [12, 0, UInt8(dhe.count >> 8), UInt8(dhe.count & 0xff)] + dhe
        let done: [UInt8] = [14, 0, 0, 0]
        // Without the ServerKeyExchange the flight is not complete yet; a plain parse stops at the hello.
        #expect(ServerHelloParser.parseFlight(record(0x16, hello + certificate)) == nil)
        #expect(ServerHelloParser.parse(record(0x16, hello + certificate)) == .hello(ServerHello(version: 0x0303, suite: 0x009e)))
        guard case .hello(let reply)? = ServerHelloParser.parseFlight(record(0x16, hello + certificate) + record(0x16, keyExchange + done)) else {
            Issue.record("no flight")
            return
        }
        #expect(reply.dhPrimeBits == 1023)
        #expect(reply.namedCurve == nil)
        var ecdhe = reply
        ecdhe.keyExchange = [3, 0x00, 0x15, 65]
        #expect(ecdhe.namedCurve == 21)
        // A flight without a key exchange (static RSA) ends at ServerHelloDone.
        guard case .hello(let rsa)? = ServerHelloParser.parseFlight(record(0x16, hello + certificate + done)) else {
            Issue.record("no flight")
            return
        }
        #expect(rsa.keyExchange == nil)
    }

    @Test("ClientHellos carry the offered suites and, for TLS 1.3, supported_versions")
    func clientHello() {
        let hello = ClientHello.build(version: .tls13, suites: [0x1301, 0x1302], serverName: "camera.local")
        #expect(hello[0] == 0x16)
        #expect(Int(hello[3]) << 8 | Int(hello[4]) == hello.count - 5)
        let bytes = hello[...]
        #expect(bytes.windows(ofCount: 4).contains([0x13, 0x01, 0x13, 0x02]))
        #expect(bytes.windows(ofCount: 5).contains([0x00, 0x2b, 0x00, 0x03, 0x02]))
        // An empty key_share (the group-enumeration hello) and the groups in the order given.
        let probe = ClientHello.build(version: .tls13, suites: [0x1301], serverName: nil, groups: [21, 23], keyShare: false)[...]
        #expect(probe.windows(ofCount: 4).contains([0x00, 0x33, 0x00, 0x02]))
        #expect(probe.windows(ofCount: 8).contains([0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 21]))
        // TLS 1.2 offers DEFLATE and heartbeat, so the ServerHello can tell whether they are on.
        let legacy = ClientHello.build(version: .tls12, suites: [0x002f], serverName: nil)[...]
        #expect(legacy.windows(ofCount: 5).contains([0x00, 0x2f, 2, 1, 0]))
        #expect(legacy.windows(ofCount: 5).contains([0x00, 0x0f, 0x00, 0x01, 0x01]))
    }

    @Test("Group names and sizes come from the IANA registry; OpenSSL aliases resolve")
    func groups() {
        #expect(TLSGroup.name(23) == "secp256r1")
        #expect(TLSGroup.named("prime256v1")?.id == 23)
        #expect(TLSGroup.named("X25519")?.id == 29)
        #expect(TLSGroup.name(0x1234) == "group-0x1234")
        #expect(Set(TLSGroup.all.map(\.id)).count == TLSGroup.all.count)
        #expect(TLSGroup.all.map(\.strength) == TLSGroup.all.map(\.strength).sorted())
    }
}

extension ArraySlice where Element == UInt8 {
    func windows(ofCount n: Int) -> [[UInt8]] {
        count < n ? [] : (startIndex...(endIndex - n)).map { Array(self[$0..<($0 + n)]) }
    }
}

@Suite("SSLv2 probe")
struct SSLv2Tests {
    @Test("An SSLv2 SERVER-HELLO lists the shared cipher kinds; TLS answers are not SSLv2")
    func serverHello() {
        let certificate: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x01]
        let specs: [UInt8] = [0x01, 0x00, 0x80, 0x07, 0x00, 0xc0]
        let connectionID = [UInt8](repeating: 9, count: 16)
        let body: [UInt8] = [4, 0, 1, 0x00, 0x02, 0, UInt8(certificate.count), 0, UInt8(specs.count), 0, 16]
            + certificate + specs + connectionID
        let message = [0x80 | UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        #expect(SSLv2.parse(message) == .serverHello(["SSL_CK_RC4_128_WITH_MD5", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"]))
        #expect(SSLv2.parse(Array(message.prefix(10))) == .incomplete)
        #expect(SSLv2.parse([0x16, 3, 3, 0, 2, 2, 40]) == .notSSLv2)
        #expect(SSLv2.parse([0x80, 3, 0, 0, 1]) == .notSSLv2)                  // SSLv2 ERROR message
    }

    @Test("The SSLv2 CLIENT-HELLO offers the seven cipher kinds with a 16-byte challenge")
    func clientHello() {
        let hello = SSLv2.clientHello()
        #expect(hello[0] & 0x80 != 0)
        #expect(Int(hello[0] & 0x7f) << 8 | Int(hello[1]) == hello.count - 2)
        #expect(hello[2] == 1 && hello[3] == 0 && hello[4] == 2)
        #expect(Int(hello[5]) << 8 | Int(hello[6]) == 21)
        #expect(hello.count == 2 + 9 + 21 + 16)
    }
}

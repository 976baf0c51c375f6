import RBCore

/// SNMPv2c `GET sysDescr.0` on UDP with the default communities `public` and `private`, one
/// datagram each, waiting `timeout` for an answer. Read-only; a silent port means no answer.
public struct SNMPProbe: Sendable {
    public let host: String
    public let port: UInt16
    public let timeout: Double
    public static let communities = ["public", "private"]

    public init(host: String, port: UInt16 = 161, timeout: Double = 1.5) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    public func scan() async -> SNMPFacts {
        await blocking {
            var facts = SNMPFacts(communities: [], sysDescr: nil)
            for community in Self.communities {
                if let answer = self.get(community: community) {
                    facts.communities.append(community)
                    facts.sysDescr = facts.sysDescr ?? answer
                }
            }
            return facts
        }
    }

    /// The sysDescr the agent returned for `community` ("" when it answered without one), or nil.
    func get(community: String) -> String? {
        let datagram = Self.getRequest(community: community, requestID: UInt32.random(in: 1...0x7fff_ffff))
        guard let answer = UDPExchange.ask(host: host, port: port, datagram: datagram, wait: timeout).first else { return nil }
        return Self.parseResponse(answer.bytes)
    }

    static let sysDescrOID: [UInt8] = [0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00]

    static func tlv(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] {
        let length: [UInt8] = value.count < 128 ? [UInt8(value.count)] : [0x82, UInt8(value.count >> 8), UInt8(value.count & 0xff)]
        return [tag] + length + value
    }

    /// SNMPv2c GetRequest (RFC 3416) for sysDescr.0, BER-encoded.
    static func getRequest(community: String, requestID: UInt32) -> [UInt8] {
        let id: [UInt8] = [UInt8(requestID >> 24), UInt8(requestID >> 16 & 0xff), UInt8(requestID >> 8 & 0xff), UInt8(requestID & 0xff)]
        let varbind = tlv(0x30, tlv(0x06, sysDescrOID) + [0x05, 0x00])
        let pdu = tlv(0xa0, tlv(0x02, id) + [0x02, 0x01, 0x00, 0x02, 0x01, 0x00] + tlv(0x30, varbind))
        return tlv(0x30, [0x02, 0x01, 0x01] + tlv(0x04, Array(community.utf8)) + pdu)
    }

    /// A GetResponse's sysDescr ("" when absent); nil when the bytes are no SNMP response.
    static func parseResponse(_ bytes: [UInt8]) -> String? {
        guard bytes.first == 0x30, bytes.contains(0xa2) else { return nil }
        guard let at = bytes.firstRange(of: [0x06, UInt8(sysDescrOID.count)] + sysDescrOID)?.upperBound, at + 2 <= bytes.count,
              bytes[at] == 0x04 else { return "" }
        var length = Int(bytes[at + 1])
        var start = at + 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count <= 2, start + count <= bytes.count else { return "" }
            length = bytes[start..<(start + count)].reduce(0) { $0 << 8 | Int($1) }
            start += count
        }
        guard start + length <= bytes.count else { return "" }
        return String(decoding: bytes[start..<(start + length)], as: UTF8.self)
    }
}

import RBCore

/// Every parser that reads what a network peer sent, callable on arbitrary bytes: the fuzzing
/// entry for the endpoint probes (`scripts/fuzz network`) and its regression tests. A hostile
/// device controls all of these bytes; none of the parsers may crash, hang or allocate without
/// bound on any of them.
public enum PeerBytes {
    /// Runs each parser on `bytes` and returns how many recognised something (so that the work
    /// cannot be optimised away).
    @discardableResult
    public static func parseAll(_ bytes: [UInt8]) -> Int {
        var recognised = 0
        // TLS: a ServerHello (or alert), the first flight up to ServerKeyExchange, SSLv2.
        for answer in [ServerHelloParser.parse(bytes), ServerHelloParser.parseFlight(bytes)] {
            switch answer {
            case .hello?, .alert?: recognised += 1
            default: break
            }
        }
        if case .serverHello = SSLv2.parse(bytes) { recognised += 1 }
        // HTTP and RTSP responses (status line, headers, chunked or sized body).
        if (try? HTTPProbe.parse(bytes)) != nil { recognised += 1 }
        if (try? HTTPProbe.parse(bytes, protocolPrefix: "RTSP/")) != nil { recognised += 1 }
        if HTTPProbe.complete(bytes, method: "GET") { recognised += 1 }
        if RTSPProbe.headersOnly(bytes) { recognised += 1 }
        // SSH: the KEXINIT payload and the binary packet framing.
        if SSHWire.kexinit(bytes) != nil { recognised += 1 }
        _ = SSHWire.bits(bytes)
        // UDP answers: SNMP, SSDP; XML answers (ONVIF SOAP, WS-Discovery, UPnP descriptions).
        if SNMPProbe.parseResponse(bytes) != nil { recognised += 1 }
        if UDPSweep.ssdpAnswer(bytes) != nil { recognised += 1 }
        if XMLElements.texts(["Username", "XAddrs", "Types", "Model", "FirmwareVersion"], in: bytes) != nil { recognised += 1 }
        // Banners: service identification, FTP replies, login shells, digest challenges.
        recognised += PortSweep.serverFirst(bytes) == "unknown" ? 0 : 1
        if PortSweep.clientFirst(bytes) != nil { recognised += 1 }
        if FTPLogin.finalCode(bytes) != nil { recognised += 1 }
        let text = String(decoding: bytes, as: UTF8.self)
        recognised += DefaultLogin.parameters(text).count
        if case .accepted = ServiceLogin.judgeShell(text) { recognised += 1 }
        return recognised
    }
}

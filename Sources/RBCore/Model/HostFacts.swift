/// What the port sweep of a host target found: the JSON report's `endpoints[].host`.
public struct HostFacts: Codable, Sendable, Equatable {
    public struct Port: Codable, Sendable, Equatable {
        public var port: UInt16
        /// `ssh`, `telnet`, `ftp`, `tls`, `http`, `rtsp`, `redis` (banner: its answer to PING), or `unknown`.
        public var service: String
        /// The first bytes the service sent (printable, at most 256 characters).
        public var banner: String?
        /// FTP: whether `USER anonymous` was accepted (`230`); nil when not tried.
        public var anonymousLogin: Bool?
        /// Telnet and FTP: default-credential attempts (`--allow-auth-tests` only).
        public var defaultLogin: LoginAttempts?
        public init(port: UInt16, service: String, banner: String? = nil, anonymousLogin: Bool? = nil) {
            self.port = port
            self.service = service
            self.banner = banner
            self.anonymousLogin = anonymousLogin
        }
    }

    /// SNMP on UDP 161: the default communities the agent answered (nil: not probed).
    public var snmp: SNMPFacts?
    /// Open TCP ports, ascending.
    public var ports: [Port]
    /// UDP services that answered their probe (`tftp`, `ssdp`, `ws-discovery`, `snmp`), ascending.
    public var udp: [Port] = []
    /// What the SSDP `M-SEARCH` got back (nil: no answer or not probed).
    public var ssdp: SSDPFacts?
    /// What the WS-Discovery `Probe` got back (nil: no answer or not probed).
    public var wsDiscovery: WSDiscoveryFacts?
    /// How many TCP ports were tried.
    public var scanned: Int
    public var problems: [String]

    public init(ports: [Port], scanned: Int, problems: [String] = []) {
        self.ports = ports
        self.scanned = scanned
        self.problems = problems
    }

    /// The camera port set swept when `--ports` is not given: remote shells, file transfer, web,
    /// streaming, vendor SDK and management ports seen on IP cameras and NVRs, and the database
    /// and cache ports RB-SYS-008 looks at.
    public static let cameraPorts: [UInt16] = [21, 22, 23, 80, 81, 443, 554, 2323, 5000, 7001, 8000, 8008, 8080, 8081, 8443,
                                               8554, 8899, 9000, 9010, 10554, 34567, 37777, 37778, 49152,
                                               3306, 5432, 6379, 27017]

    /// The UDP ports probed when `--ports` is not given: TFTP, SNMP, SSDP, WS-Discovery.
    public static let cameraUDPPorts: [UInt16] = [69, 161, 1900, 3702]

    /// `23,80,8000-8100,1900/udp` → the TCP and the UDP ports (a `/udp` suffix marks UDP, `/tcp`
    /// or none TCP), or nil when malformed (zero, reversed ranges, junk).
    public static func parsePorts(_ text: String) -> (tcp: [UInt16], udp: [UInt16])? {
        var tcp: [UInt16] = []
        var udp: [UInt16] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var range = part
            var isUDP = false
            if let slash = part.firstIndex(of: "/") {
                let proto = part[part.index(after: slash)...].lowercased()
                guard proto == "udp" || proto == "tcp" else { return nil }
                isUDP = proto == "udp"
                range = part[..<slash]
            }
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]), low > 0,
                  let high = bounds.count == 2 ? UInt16(bounds[1]) : low, high >= low else { return nil }
            if isUDP { udp += Array(low...high) } else { tcp += Array(low...high) }
        }
        var seenTCP = Set<UInt16>(), seenUDP = Set<UInt16>()
        return (tcp.filter { seenTCP.insert($0).inserted }, udp.filter { seenUDP.insert($0).inserted })
    }
}

/// The answers to an SSDP `M-SEARCH ssdp:all` sent to the host's UDP port (1900), and the UPnP
/// device description behind the first `LOCATION` on the same host.
public struct SSDPFacts: Codable, Sendable, Equatable {
    public struct Answer: Codable, Sendable, Equatable {
        public var st: String
        public var usn: String?
        public var server: String?
        public var location: String?
        public init(st: String, usn: String? = nil, server: String? = nil, location: String? = nil) {
            self.st = st
            self.usn = usn
            self.server = server
            self.location = location
        }
    }
    public var port: UInt16
    public var answers: [Answer]
    /// From the device description XML: friendlyName, manufacturer, modelName, modelNumber,
    /// serialNumber, UDN … (the elements present).
    public var description: [String: String]?
    public init(port: UInt16, answers: [Answer], description: [String: String]? = nil) {
        self.port = port
        self.answers = answers
        self.description = description
    }

    /// Whether an answer announces an Internet Gateway Device or its port-mapping services.
    public var announcesPortMapping: Bool {
        answers.contains { answer in
            ["InternetGatewayDevice", "WANIPConnection", "WANPPPConnection"].contains { answer.st.contains($0) || (answer.usn ?? "").contains($0) }
        }
    }
}

/// The ProbeMatch a WS-Discovery `Probe` (UDP 3702) got back: ONVIF cameras announce their
/// device service address (`XAddrs`) and scopes (`onvif://www.onvif.org/hardware/MODEL`, name…).
public struct WSDiscoveryFacts: Codable, Sendable, Equatable {
    public var port: UInt16
    public var types: [String]
    public var scopes: [String]
    public var xaddrs: [String]
    public init(port: UInt16, types: [String], scopes: [String], xaddrs: [String]) {
        self.port = port
        self.types = types
        self.scopes = scopes
        self.xaddrs = xaddrs
    }
}

/// What an SNMP agent answered to `GET sysDescr.0` with the default communities.
public struct SNMPFacts: Codable, Sendable, Equatable {
    /// The default communities (`public`, `private`) that got an answer.
    public var communities: [String]
    public var sysDescr: String?
    public init(communities: [String], sysDescr: String?) {
        self.communities = communities
        self.sysDescr = sysDescr
    }
}

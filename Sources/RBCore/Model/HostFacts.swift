/// What the port sweep of a host target found: the JSON report's `endpoints[].host`.
public struct HostFacts: Codable, Sendable, Equatable {
    public struct Port: Codable, Sendable, Equatable {
        public var port: UInt16
        /// `ssh`, `telnet`, `ftp`, `tls`, `http`, `rtsp`, `redis` (banner: its answer to PING), or `unknown`.
        public var service: String
        /// The first bytes the service sent (printable, at most 256 characters).
        public var banner: String?
        public init(port: UInt16, service: String, banner: String? = nil) {
            self.port = port
            self.service = service
            self.banner = banner
        }
    }

    /// SNMP on UDP 161: the default communities the agent answered (nil: not probed).
    public var snmp: SNMPFacts?
    /// Open TCP ports, ascending.
    public var ports: [Port]
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

    /// `23,80,8000-8100` → the ports, or nil when malformed (zero, reversed ranges, junk).
    public static func parsePorts(_ text: String) -> [UInt16]? {
        var ports: [UInt16] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]), low > 0,
                  let high = bounds.count == 2 ? UInt16(bounds[1]) : low, high >= low else { return nil }
            ports += Array(low...high)
        }
        var seen = Set<UInt16>()
        return ports.filter { seen.insert($0).inserted }
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

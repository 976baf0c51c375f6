import RBCore
import RBNet

// Stage 2 of a scan: host targets are swept; every service found becomes an endpoint target.
extension ScanSession {
    /// Sweeps the ports of every host target; each TLS or SSH service found becomes an endpoint
    /// target of its own (`tls://host:port`, `ssh://host:port`) right after its host, probed and
    /// judged like one given on the command line. A host with no open port is a target error.
    static func sweepHosts(_ targets: [ScanTarget], limits: ScanLimits,
                           credentials: [DeviceProfile.Credential] = [],
                           pacer: LoginPacer = LoginPacer()) async -> (targets: [ScanTarget], diagnostics: [Diagnostic]) {
        let hosts = targets.indices.filter { targets[$0].endpoint?.scheme == "host" }
        guard !hosts.isEmpty else { return (targets, []) }
        var facts: [Int: HostFacts] = [:]
        await withTaskGroup(of: (Int, HostFacts).self) { group in
            for i in hosts {
                let host = targets[i].endpoint!.host
                let ports = limits.ports ?? HostFacts.cameraPorts
                let udpPorts = limits.udpPorts ?? (limits.ports == nil ? HostFacts.cameraUDPPorts : [])
                group.addTask {
                    // The UDP probes (TFTP, SNMP, SSDP, WS-Discovery) beside the TCP sweep.
                    async let udp = UDPSweep(host: host, ports: udpPorts, wait: min(limits.networkTimeout, 1)).run()
                    var found = await PortSweep(host: host, ports: ports, timeout: min(limits.networkTimeout, 2)).run()
                    let answered = await udp
                    found.udp = answered.services
                    found.snmp = answered.snmp
                    found.ssdp = answered.ssdp
                    found.wsDiscovery = answered.wsDiscovery
                    // --allow-auth-tests: the profile's default pairs on telnet and FTP logins,
                    // the surfaces side by side (pacing holds per surface).
                    if !credentials.isEmpty {
                        let ports = found.ports
                        await withTaskGroup(of: (Int, LoginAttempts).self) { logins in
                            for (j, port) in ports.enumerated() {
                                guard let surface = ServiceLogin.Surface(rawValue: port.service), surface != .ssh else { continue }
                                logins.addTask {
                                    (j, await ServiceLogin(surface: surface, host: host, port: port.port, timeout: limits.networkTimeout,
                                                            pacer: pacer).run(credentials))
                                }
                            }
                            for await (j, login) in logins { found.ports[j].defaultLogin = login }
                        }
                    }
                    return (i, found)
                }
            }
            for await (i, result) in group { facts[i] = result }
        }
        var expanded: [ScanTarget] = []
        var diagnostics: [Diagnostic] = []
        for (i, target) in targets.enumerated() {
            guard let found = facts[i], let endpoint = target.endpoint else { expanded.append(target); continue }
            guard !found.ports.isEmpty || !found.udp.isEmpty else {
                diagnostics.append(Diagnostic(.error, .target, code: "target.unreachable",
                    "no open TCP port among the \(found.scanned) swept and no UDP answer" + (found.problems.first.map { " (\($0))" } ?? ""),
                    at: SourceLocation(file: target.spec)))
                continue
            }
            var host = target
            host.host = found
            expanded.append(host)
            for port in found.ports {
                // TLS ports are also asked for a web page over TLS (most are HTTPS); that guess
                // is dropped quietly when it gets no HTTP answer.
                let schemes: [(String, Bool)] = switch port.service {
                case "tls": [("tls", false), ("https", true)]
                case "ssh", "http", "rtsp": [(port.service, false)]
                default: []
                }
                for (scheme, guessed) in schemes {
                    expanded.append(derivedTarget(of: target, scheme: scheme, port: port.port, guessed: guessed))
                }
            }
            // An ONVIF device service that WS-Discovery names on this host, on a port the TCP
            // sweep left out, is asked as HTTP too.
            let httpPorts = Set(found.ports.filter { ["http", "tls"].contains($0.service) }.map(\.port))
            var added = Set<UInt16>()
            for xaddr in found.wsDiscovery?.xaddrs ?? [] {
                guard let url = UDPSweep.httpURL(xaddr), UDPSweep.sameHost(url.host, endpoint.host),
                      !httpPorts.contains(url.port), added.insert(url.port).inserted else { continue }
                expanded.append(derivedTarget(of: target, scheme: "http", port: url.port, guessed: true))
            }
        }
        return (expanded, diagnostics)
    }

    static func derivedTarget(of host: ScanTarget, scheme: String, port: UInt16, guessed: Bool) -> ScanTarget {
        let derived = Endpoint(scheme: scheme, host: host.endpoint!.host, port: port)
        var service = ScanTarget(spec: derived.uri, kind: .endpoint, tree: nil,
                                 baseID: host.baseID + "_" + scheme.uppercased() + "_" + String(port), baseURI: nil)
        service.endpoint = derived
        service.guessed = guessed
        service.sweptFrom = host.spec
        // A service found on an inventory's host belongs to that device.
        service.name = host.name
        service.tags = host.tags
        return service
    }

    /// The ONVIF device service paths to ask on `endpoint`: those WS-Discovery named on this
    /// host and port, then the profile's.
    static func onvifPaths(for endpoint: Endpoint, in targets: [ScanTarget], profile: DeviceProfile?) -> [String] {
        var paths: [String] = []
        for target in targets where target.endpoint?.scheme == "host" && target.endpoint?.host == endpoint.host {
            for xaddr in target.host?.wsDiscovery?.xaddrs ?? [] {
                if let url = UDPSweep.httpURL(xaddr), UDPSweep.sameHost(url.host, endpoint.host), url.port == endpoint.port { paths.append(url.path) }
            }
        }
        for path in profile?.onvifPaths ?? ["/onvif/device_service"] where !paths.contains(path) { paths.append(path) }
        return paths
    }
}

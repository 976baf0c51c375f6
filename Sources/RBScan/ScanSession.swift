import RBChecks
import RBCore
import RBNet

#if canImport(Glibc)
import Glibc
#endif

/// Loads rules and the baseline, resolves targets, runs the engine: one `rbscan scan`.
public struct ScanSession {
    public struct Options: Sendable {
        public var targets: [String]
        public var baseline: String?
        public var ruleDirectories: [String]
        /// False for `--no-shipped-rules`: only `ruleDirectories` (and plugins' rules), not `Rules/`.
        public var shippedRules = true
        /// External check plugins (`--plugins DIR`): their checks, and the rule packs in their `rules/`.
        public var pluginDirectories: [String] = []
        public var failOn: GateThreshold?
        public var jobs: Int
        public var limits: ScanLimits
        public var commandLine: String?
        /// Whether firmware targets get their component inventory (for an SBOM report).
        public var components: Bool
        /// Whether firmware targets carry their components when a rule built them anyway (JSON).
        public var componentsIfBuilt = false
        /// Inventory names and tags per target as given.
        public var labels: [String: TargetLabel] = [:]
        /// Called as rule runs finish (finished, total), for a progress bar.
        public var progress: (@Sendable (Int, Int) -> Void)?

        public init(targets: [String], baseline: String? = nil, ruleDirectories: [String] = [],
                    failOn: GateThreshold? = nil, jobs: Int? = nil, limits: ScanLimits = ScanLimits(),
                    commandLine: String? = nil, components: Bool = false) {
            self.components = components
            self.targets = targets
            self.baseline = baseline
            self.ruleDirectories = ruleDirectories
            self.failOn = failOn
            self.jobs = jobs ?? ScanSession.coreCount
            var limits = limits
            limits.threads = self.jobs
            self.limits = limits
            self.commandLine = commandLine
        }
    }

    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The rules and baseline a run uses, or the configuration diagnostics that stop it.
    public struct Configuration: Sendable {
        public var rules: [Rule]
        public var baseline: Baseline?
        public var packs: [RulePack]
        public var adapters: ConfigAdapters
        public var diagnostics: [Diagnostic]
        public var isValid: Bool { !diagnostics.contains { $0.level == .error } }
    }

    /// Loads the shipped `Rules/` with the `--rules` directories layered over it (without it when
    /// `shippedRules` is false; `RuleDirectories.layered`) and the baseline.
    /// `pluginDirectories`: external check plugins (`--plugins DIR`); their checks join the
    /// registry and the rule packs in their `rules/` directories join the rules directories.
    public static func configuration(ruleDirectories: [String], baseline: String?, examples: Bool = true,
                                     registry: CheckRegistry = BuiltinChecks.registry,
                                     pluginDirectories: [String] = [], shippedRules: Bool = true) -> Configuration {
        var diagnostics: [Diagnostic] = []
        var registry = registry
        var pluginRules: [String] = []
        if !pluginDirectories.isEmpty {
            let (plugins, pluginDiagnostics) = Plugin.load(directories: pluginDirectories)
            diagnostics += pluginDiagnostics
            registry = registry.adding(plugins.flatMap(\.dynamicChecks))
            pluginRules = plugins.map { $0.directory + "/rules" }.filter { HostFiles.kind(of: $0) == .directory }
        }
        let (directories, layerDiagnostics) = RuleDirectories.layered(shipped: Resources.defaultRulesDirectory, includeShipped: shippedRules,
                                                                      given: ruleDirectories, plugins: pluginRules)
        diagnostics += layerDiagnostics
        let (packs, loadDiagnostics) = RuleLoader(registry: registry, examples: examples).load(directories: directories)
        diagnostics += loadDiagnostics
        let (adapters, adapterDiagnostics) = ConfigAdapters.load(ruleDirectories: directories)
        diagnostics += adapterDiagnostics
        var loadedBaseline: Baseline?
        if let path = Resources.baselinePath(baseline) {
            do {
                loadedBaseline = try Baseline.load(file: path)
            } catch {
                diagnostics += error.diagnostics
            }
        } else {
            diagnostics.append(Diagnostic(.error, .configuration, code: "baseline.not-found",
                "cannot find baseline '\(baseline ?? Resources.defaultBaselineName)'; pass --baseline FILE or set RBSCAN_HOME"))
        }
        var rules: [Rule] = []
        if let loadedBaseline {
            let (selected, baselineDiagnostics) = loadedBaseline.apply(to: packs)
            rules = selected
            diagnostics += baselineDiagnostics
        }
        return Configuration(rules: rules, baseline: loadedBaseline, packs: packs, adapters: adapters, diagnostics: diagnostics)
    }

    public static func run(_ options: Options, registry: CheckRegistry = BuiltinChecks.registry) async -> ScanReport {
        let start = Timestamp.now()
        // Rules load while the targets are indexed and endpoints probed: start-up work with no
        // dependency (the network waits on Dispatch workers while the rules parse).
        let caProblem = options.limits.caFile.flatMap { CertificateTrust.validate(caFile: $0) }
        let limits = options.limits
        async let prepared = { () async -> ([ScanTarget], [Diagnostic]) in
            let resolveStart = ContinuousClock.now
            let (targets, diagnostics) = TargetResolver(limits: limits).resolve(options.targets, labels: options.labels)
            Profiler.note("targets resolved", since: resolveStart)
            if let caProblem, let caFile = limits.caFile {
                return ([], diagnostics + [Diagnostic(.error, .target, code: "ca-file.invalid", "--ca-file: " + caProblem,
                                                      at: SourceLocation(file: caFile))])
            }
            // The device profile (a missing default is not an error): endpoint scans use its
            // interfaces and paths, firmware scans its documented web paths.
            var profile: DeviceProfile?
            if !targets.isEmpty, let file = limits.profileFile ?? Resources.defaultProfile,
               limits.profileFile != nil || HostFiles.kind(of: file) == .regularFile {
                do throws(DiagnosticError) {
                    profile = try DeviceProfile.load(file: file)
                } catch {
                    return ([], diagnostics + error.diagnostics)
                }
            }
            // One pacer for the run: default-credential attempts 2 s apart per host across all
            // its surfaces, none after a lockout sign on any of them.
            let pacer = LoginPacer(interval: 2)
            let swept = await sweepHosts(targets, limits: limits,
                                         credentials: limits.allowAuthTests ? profile?.defaultCredentials ?? [] : [], pacer: pacer)
            var withProfile = swept.targets
            for i in withProfile.indices { withProfile[i].profile = profile }
            let probed = await probeEndpoints(withProfile, timeout: limits.networkTimeout, caFile: limits.caFile,
                                              allowAuthTests: limits.allowAuthTests, pacer: pacer)
            var loud: [Diagnostic] = []
            let surfaces = probed.targets.flatMap(\.loginSurfaces)
            if limits.allowAuthTests, !surfaces.isEmpty {
                loud.append(Diagnostic(.warning, .target, code: "auth-tests.enabled",
                    "--allow-auth-tests: default credentials of profile \(profile?.id ?? "?") were tried on \(surfaces.joined(separator: ", "))",
                    at: SourceLocation(file: surfaces.first ?? "")))
            }
            return (probed.targets, diagnostics + swept.diagnostics + probed.diagnostics + loud)
        }()
        let configurationStart = ContinuousClock.now
        // A scan does not run the rules' examples (`rules lint` / `rules test` decode and check them).
        let configuration = configuration(ruleDirectories: options.ruleDirectories, baseline: options.baseline,
                                          examples: false, registry: registry, pluginDirectories: options.pluginDirectories,
                                          shippedRules: options.shippedRules)
        Profiler.note("rules loaded", since: configurationStart)
        var (targets, targetDiagnostics) = await prepared
        for i in targets.indices { targets[i].adapters = configuration.adapters }
        let gate = options.failOn ?? configuration.baseline?.failOn ?? .severity(.high)
        let baselineID = configuration.baseline?.id ?? "none"
        guard configuration.isValid else {
            return ScanReport(targets: [], rules: [], findings: [], diagnostics: configuration.diagnostics,
                              baselineID: baselineID, gate: gate, startTime: start, endTime: Timestamp.now(),
                              commandLine: options.commandLine)
        }
        let engine = Engine(rules: configuration.rules, jobs: options.jobs, limits: options.limits, progress: options.progress)
        let outcome = await engine.scan(targets)
        // The SBOM when a report wants it: each firmware target's components (shared with
        // RB-PKG-004 when it ran).
        for i in targets.indices where targets[i].kind == .firmware && targets[i].tree != nil {
            if options.components {
                let context = CheckContext(target: targets[i], limits: options.limits, ruleID: "", sink: DiagnosticSink())
                targets[i].components = ComponentInventory.of(context).components
            } else if options.componentsIfBuilt {
                // Free when the package rules ran: the JSON report keeps them for `rbscan merge`.
                targets[i].components = ComponentInventory.ifBuilt(targets[i])?.components
            }
        }
        // What the fleet rules compare across targets; then the rules themselves, over this run's targets.
        let fleetStart = ContinuousClock.now
        defer { Profiler.note("fleet facts", since: fleetStart) }
        for i in targets.indices {
            let context = CheckContext(target: targets[i], limits: options.limits, ruleID: "", sink: DiagnosticSink())
            let facts = FleetFactsCollector.collect(context)
            targets[i].fleet = facts.isEmpty ? nil : facts
        }
        var report = ScanReport(targets: targets, rules: outcome.rulesRun, findings: outcome.findings,
                                diagnostics: configuration.diagnostics + targetDiagnostics + outcome.diagnostics,
                                baselineID: baselineID, gate: gate, startTime: start, endTime: Timestamp.now(),
                                commandLine: options.commandLine)
        FleetRules.apply(to: &report, available: configuration.rules)
        return report
    }
}

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

    /// Runs the TLS scanner on every `tls://` target and the SSH probe on every `ssh://` one,
    /// concurrently. An endpoint that cannot be reached or does not speak the protocol at all is
    /// a target error (exit 2) and no rule judges it: "nothing negotiated" from a closed port is
    /// not a finding.
    static func probeEndpoints(_ targets: [ScanTarget], timeout: Double, caFile: String?, allowAuthTests: Bool = false,
                               pacer: LoginPacer = LoginPacer()) async -> (targets: [ScanTarget], diagnostics: [Diagnostic]) {
        enum Probed: Sendable { case tls(TLSFacts), ssh(SSHFacts), http(HTTPFacts), rtsp(RTSPFacts), snmp(SNMPFacts), unreachable(String) }
        let endpoints = targets.indices.filter { ["tls", "ssh", "http", "https", "rtsp", "snmp"].contains(targets[$0].endpoint?.scheme) }
        guard !endpoints.isEmpty else { return (targets, []) }
        var results: [Int: Probed] = [:]
        let sensitivePaths = Dictionary(uniqueKeysWithValues: endpoints.map { ($0, targets[$0].profile?.sensitivePaths ?? []) })
        let streamPaths = Dictionary(uniqueKeysWithValues: endpoints.map { ($0, targets[$0].profile?.rtspPaths ?? RTSPFacts.commonPaths) })
        let credentials = Dictionary(uniqueKeysWithValues: endpoints.map { ($0, allowAuthTests ? targets[$0].profile?.defaultCredentials ?? [] : []) })
        let onvif = Dictionary(uniqueKeysWithValues: endpoints.map { ($0, onvifPaths(for: targets[$0].endpoint!, in: targets, profile: targets[$0].profile)) })
        await withTaskGroup(of: (Int, Probed).self) { group in
            for i in endpoints {
                let endpoint = targets[i].endpoint!
                group.addTask {
                    switch endpoint.scheme {
                    case "http", "https":
                        switch await HTTPProbe(host: endpoint.host, port: endpoint.port, tls: endpoint.scheme == "https", timeout: timeout,
                                               sensitivePaths: sensitivePaths[i] ?? [], credentials: credentials[i] ?? [],
                                               onvifPaths: onvif[i] ?? [], pacer: pacer).scan() {
                        case .success(let facts): return (i, .http(facts))
                        case .failure(let failure): return (i, .unreachable(failure.message))
                        }
                    case "snmp":
                        // UDP: silence is the pass condition (agents drop unknown communities), not an error.
                        return (i, .snmp(await SNMPProbe(host: endpoint.host, port: endpoint.port, timeout: min(timeout, 1.5)).scan()))
                    case "rtsp":
                        switch await RTSPProbe(host: endpoint.host, port: endpoint.port, timeout: timeout, paths: streamPaths[i] ?? [],
                                               credentials: credentials[i] ?? [], pacer: pacer).scan() {
                        case .success(let facts): return (i, .rtsp(facts))
                        case .failure(let failure): return (i, .unreachable(failure.message))
                        }
                    case "ssh":
                        switch await SSHProbe(host: endpoint.host, port: endpoint.port, timeout: timeout).scan() {
                        case .success(var facts):
                            if let pairs = credentials[i], !pairs.isEmpty {
                                facts.defaultLogin = await ServiceLogin(surface: .ssh, host: endpoint.host, port: endpoint.port, timeout: timeout,
                                                                        pacer: pacer).run(pairs)
                            }
                            return (i, .ssh(facts))
                        case .failure(let failure): return (i, .unreachable(failure.message))
                        }
                    default:
                        let facts = await TLSScanner(host: endpoint.host, port: endpoint.port, timeout: timeout, caFile: caFile).scan()
                        return (i, facts.reachable ? .tls(facts) : .unreachable(facts.problems.first ?? "no TLS handshake completed"))
                    }
                }
            }
            for await (i, result) in group { results[i] = result }
        }
        var kept: [ScanTarget] = []
        var diagnostics: [Diagnostic] = []
        for (i, target) in targets.enumerated() {
            var target = target
            switch results[i] {
            case nil: break
            case .unreachable where target.guessed:
                continue
            case .unreachable(let message)? where target.sweptFrom != nil:
                // One misbehaving port does not void what the sweep found on the others.
                diagnostics.append(Diagnostic(.error, .check, code: "target.service-unprobed",
                    "the sweep of \(target.sweptFrom!) found \(target.spec), but its probe failed (\(message)); no rule judged this service",
                    at: SourceLocation(file: target.spec)))
                continue
            case .unreachable(let message)?:
                diagnostics.append(Diagnostic(.error, .target, code: "target.unreachable", message, at: SourceLocation(file: target.spec)))
                continue
            case .tls(let facts)?:
                target.tls = facts
                target.tls?.certificateFacts = facts.certificate.flatMap(CertificateFacts.summary(pem:))
            case .ssh(let facts)?:
                target.ssh = facts
            case .http(let facts)?:
                target.http = facts
            case .rtsp(let facts)?:
                target.rtsp = facts
            case .snmp(let facts)?:
                target.snmp = facts
            }
            kept.append(target)
        }
        return (kept, diagnostics)
    }
}

extension ScanTarget {
    /// The login surfaces of this target that default credentials were tried on.
    var loginSurfaces: [String] {
        var surfaces: [String] = []
        if http?.defaultLogin != nil || rtsp?.defaultLogin != nil || ssh?.defaultLogin != nil { surfaces.append(spec) }
        if let onvif = http?.onvif, onvif.defaultLogin != nil { surfaces.append(spec + onvif.path) }
        if let endpoint, let host {
            surfaces += host.ports.filter { $0.defaultLogin != nil }.map { Endpoint(scheme: $0.service, host: endpoint.host, port: $0.port).uri }
        }
        return surfaces
    }
}

/// ISO 8601 UTC timestamps without Foundation's formatter cost.
enum Timestamp {
    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = Int(ts.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}

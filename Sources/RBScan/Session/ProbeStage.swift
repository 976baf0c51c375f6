import RBCore
import RBNet

// Stage 3 of a scan: every endpoint target is probed by the probe of its scheme
// (`EndpointProbes.all`), concurrently, before the rules run.
extension ScanSession {
    /// Probes every endpoint target whose scheme has a probe, concurrently. An endpoint that
    /// cannot be reached or does not speak the protocol at all is a target error (exit 2) and no
    /// rule judges it; a service a host sweep found whose probe fails is a check that could not
    /// complete (exit 3); a guessed one (HTTPS on a TLS port) is dropped quietly.
    static func probeEndpoints(_ targets: [ScanTarget], timeout: Double, caFile: String?, allowAuthTests: Bool = false,
                               pacer: LoginPacer = LoginPacer()) async -> (targets: [ScanTarget], diagnostics: [Diagnostic]) {
        var requests: [(Int, any EndpointProbe.Type, ProbeRequest)] = []
        for (i, target) in targets.enumerated() {
            guard let endpoint = target.endpoint, let probe = EndpointProbes.probe(for: endpoint.scheme) else { continue }
            requests.append((i, probe, ProbeRequest(endpoint: endpoint, timeout: timeout, caFile: caFile, profile: target.profile,
                                                    credentials: allowAuthTests ? target.profile?.defaultCredentials ?? [] : [],
                                                    pacer: pacer,
                                                    onvifPaths: onvifPaths(for: endpoint, in: targets, profile: target.profile))))
        }
        guard !requests.isEmpty else { return (targets, []) }
        var results: [Int: ProbeOutcome] = [:]
        await withTaskGroup(of: (Int, ProbeOutcome).self) { group in
            for (i, probe, request) in requests {
                group.addTask { (i, await probe.probe(request)) }
            }
            for await (i, outcome) in group { results[i] = outcome }
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
            case .found(let facts)?:
                target.facts.merge(facts)
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


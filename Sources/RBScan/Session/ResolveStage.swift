import RBCore
import RBNet

// Stage 1 of a scan: the target specs become targets (directories, config files, the
// filesystems of images, endpoints, hosts), with the device profile; then hosts are swept
// (`HostSweepStage`) and endpoints probed (`ProbeStage`).
extension ScanSession {
    static func prepareTargets(_ options: Options) async -> ([ScanTarget], [Diagnostic]) {
        let limits = options.limits
        let caProblem = limits.caFile.flatMap { CertificateTrust.validate(caFile: $0) }
        let resolveStart = ContinuousClock.now
        let specs = options.targets, labels = options.labels
        let (targets, diagnostics) = await onOwnThread("rbscan.resolve") {
            TargetResolver(limits: limits).resolve(specs, labels: labels)
        }
        HeapTrim.releaseFree()
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
    }
}

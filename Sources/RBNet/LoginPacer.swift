import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Paces the default-credential attempts of one scan (`--allow-auth-tests`) per host, across
/// all of that host's login surfaces (web, RTSP, ONVIF, SSH, telnet, FTP): at least `interval`
/// between two attempts on the same host, and no attempt at all once any surface of the host
/// showed a lockout sign, so that the surfaces together never do more than one surface would.
public final class LoginPacer: Sendable {
    public let interval: Double
    private struct HostState {
        var last: ContinuousClock.Instant?
        var lockedOut = false
    }
    private let hosts = Mutex<[String: HostState]>([:])

    public init(interval: Double = 2) {
        self.interval = interval
    }

    /// Blocks until `host` may get the next attempt; false when a lockout was seen on it.
    func turn(_ host: String) -> Bool {
        let key = host.lowercased()
        while true {
            let wait: Duration? = hosts.withLock { hosts in
                var state = hosts[key] ?? HostState()
                if state.lockedOut { return nil }
                let now = ContinuousClock.now
                if let last = state.last, last + .milliseconds(Int(interval * 1000)) > now {
                    return last + .milliseconds(Int(interval * 1000)) - now
                }
                state.last = now
                hosts[key] = state
                return .zero
            }
            guard let wait else { return false }
            if wait == .zero { return true }
            let (seconds, attoseconds) = wait.components
            usleep(UInt32(max(1, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)))
        }
    }

    /// A surface of `host` showed a lockout sign: no more attempts on any of them.
    func lockedOut(_ host: String) {
        hosts.withLock { $0[host.lowercased(), default: HostState()].lockedOut = true }
    }

    /// Whether a lockout was seen on `host`.
    public func isLockedOut(_ host: String) -> Bool {
        hosts.withLock { $0[host.lowercased()]?.lockedOut ?? false }
    }
}

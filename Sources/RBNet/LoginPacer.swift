import RBCore
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

    /// What one default-credential attempt gave.
    public enum Outcome: Sendable, Equatable { case accepted, refused, lockout, failed }

    /// The one attempt loop of every login surface: each pair in turn, paced on `host`, stopping
    /// at the first accepted pair, at a lockout sign (here, which stops the host's other surfaces
    /// too, or already seen on another surface) and when the surface stops answering (`failed`).
    func attempts(_ credentials: [DeviceProfile.Credential], on host: String,
                  _ attempt: (DeviceProfile.Credential) -> Outcome) -> LoginAttempts {
        var result = LoginAttempts(attempts: 0, accepted: nil, lockout: false)
        for pair in credentials {
            guard turn(host) else {
                result.lockout = true
                break
            }
            let outcome = attempt(pair)
            if outcome == .failed { break }
            result.attempts += 1
            if outcome == .lockout {
                result.lockout = true
                lockedOut(host)
                break
            }
            if outcome == .accepted {
                result.accepted = pair.user
                break
            }
        }
        return result
    }

    /// Whether a lockout was seen on `host`.
    public func isLockedOut(_ host: String) -> Bool {
        hosts.withLock { $0[host.lowercased()]?.lockedOut ?? false }
    }
}

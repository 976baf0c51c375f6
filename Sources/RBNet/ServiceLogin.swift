import CLibSSH
import RBCore
#if canImport(Glibc)
import Glibc
#endif

/// Opt-in (`--allow-auth-tests`) default-credential attempts on the login surfaces that are not
/// HTTP: SSH (password or keyboard-interactive, through libssh), telnet and FTP. One attempt per
/// pair, each on a new connection, paced per host by the scan's `LoginPacer`, stopping at the
/// first lockout signal here or on another surface of the host. Nothing is run after a
/// successful login: the session is closed at once.
public struct ServiceLogin: Sendable {
    public enum Surface: String, Sendable { case ssh, telnet, ftp }
    public typealias Outcome = LoginPacer.Outcome

    public let surface: Surface
    public let host: String
    public let port: UInt16
    public let timeout: Double
    public let pacer: LoginPacer

    public init(surface: Surface, host: String, port: UInt16, timeout: Double = 5, pacer: LoginPacer = LoginPacer()) {
        self.surface = surface
        self.host = host
        self.port = port
        self.timeout = timeout
        self.pacer = pacer
    }

    public func run(_ credentials: [DeviceProfile.Credential]) async -> LoginAttempts {
        await blocking { self.pacer.attempts(credentials, on: self.host) { self.attempt(user: $0.user, password: $0.password) } }
    }

    func attempt(user: String, password: String) -> Outcome {
        switch surface {
        case .ssh: ssh(user: user, password: password)
        case .telnet: telnet(user: user, password: password)
        case .ftp: ftp(user: user, password: password)
        }
    }

    // MARK: SSH

    func ssh(user: String, password: String) -> Outcome {
        guard let session = ssh_new() else { return .failed }
        defer { ssh_free(session) }
        // No ~/.ssh/config or /etc/ssh/ssh_config: a Host alias there must never redirect the scan.
        _ = rb_ssh_set_int(session, SSH_OPTIONS_PROCESS_CONFIG, 0)
        _ = rb_ssh_set_string(session, SSH_OPTIONS_HOST, host)
        _ = rb_ssh_set_uint(session, SSH_OPTIONS_PORT, UInt32(port))
        _ = rb_ssh_set_string(session, SSH_OPTIONS_USER, user)
        _ = rb_ssh_set_long(session, SSH_OPTIONS_TIMEOUT, max(1, Int(timeout)))
        guard ssh_connect(session) == SSH_OK else { return .failed }
        defer { ssh_disconnect(session) }
        // The methods the server offers for this user (also tells "none" success apart).
        let none = ssh_userauth_none(session, nil)
        if none == SSH_AUTH_SUCCESS.rawValue { return .accepted }
        let methods = UInt32(bitPattern: ssh_userauth_list(session, nil))
        var rc = SSH_AUTH_DENIED.rawValue
        if methods & SSH_AUTH_METHOD_PASSWORD != 0 {
            rc = ssh_userauth_password(session, nil, password)
        } else if methods & SSH_AUTH_METHOD_INTERACTIVE != 0 {
            rc = ssh_userauth_kbdint(session, nil, nil)
            var rounds = 0
            while rc == SSH_AUTH_INFO.rawValue, rounds < 4 {
                rounds += 1
                let prompts = ssh_userauth_kbdint_getnprompts(session)
                for i in 0..<max(0, prompts) {
                    var echo: CChar = 0
                    _ = ssh_userauth_kbdint_getprompt(session, UInt32(i), &echo)
                    _ = ssh_userauth_kbdint_setanswer(session, UInt32(i), echo == 0 ? password : user)
                }
                rc = ssh_userauth_kbdint(session, nil, nil)
            }
        } else {
            return .failed
        }
        if rc == SSH_AUTH_SUCCESS.rawValue { return .accepted }
        if rc == SSH_AUTH_ERROR.rawValue {
            let message = String(cString: ssh_get_error(UnsafeMutableRawPointer(session))).lowercased()
            return message.contains("too many") || message.contains("lock") ? .lockout : .failed
        }
        return .refused
    }

    // MARK: telnet

    /// Answers option negotiation with refusals (WONT/DONT), waits for the login prompt, sends
    /// the user and, at the password prompt, the password, then reads what follows: a shell
    /// prompt or a welcome is a login; "incorrect", "failed", "denied" or another login prompt a
    /// refusal; "locked" or "too many" a lockout.
    func telnet(user: String, password: String) -> Outcome {
        guard let connection = try? TCPConnection(host: host, port: port, timeout: timeout) else { return .failed }
        guard Self.telnetWait(connection, for: ["login:", "username:", "user name:"], timeout: timeout) != nil else { return .failed }
        guard (try? connection.send(Array((user + "\r\n").utf8), timeout: timeout)) != nil else { return .failed }
        guard let afterUser = Self.telnetWait(connection, for: ["password:", "$ ", "# ", "> ", "incorrect"], timeout: timeout) else { return .failed }
        if !afterUser.contains("password:") { return Self.judgeShell(afterUser) }
        guard (try? connection.send(Array((password + "\r\n").utf8), timeout: timeout)) != nil else { return .failed }
        // Refusals are often delayed (login's FAIL_DELAY, ~3 s).
        guard let answer = Self.telnetWait(connection, for: ["# ", "$ ", "> ", "incorrect", "failed", "denied", "invalid", "login:", "locked", "too many"],
                                           timeout: max(timeout, 5)) else { return .refused }
        return Self.judgeShell(answer)
    }

    static func judgeShell(_ text: String) -> Outcome {
        if text.contains("locked") || text.contains("too many") { return .lockout }
        if ["incorrect", "failed", "denied", "invalid", "login:"].contains(where: text.contains) { return .refused }
        if ["# ", "$ ", "> ", "welcome", "last login"].contains(where: text.contains) { return .accepted }
        return .refused
    }

    /// Reads (answering negotiation) until the lower-cased text holds one of `markers`; the text
    /// read, or nil when the deadline passes or the peer closes first.
    static func telnetWait(_ connection: TCPConnection, for markers: [String], timeout: Double) -> String? {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var text = ""
        while true {
            guard let chunk = try? connection.receive(max: 4096, deadline: deadline), !chunk.isEmpty else { return nil }
            var plain: [UInt8] = []
            var reply: [UInt8] = []
            var i = 0
            while i < chunk.count {
                if chunk[i] == 0xff, i + 1 < chunk.count {
                    let command = chunk[i + 1]
                    if (0xfb...0xfe).contains(command), i + 2 < chunk.count {
                        // WILL/WONT → DONT, DO/DONT → WONT: refuse every option.
                        reply += [0xff, command <= 0xfc ? 0xfe : 0xfc, chunk[i + 2]]
                        i += 3
                        continue
                    }
                    if command == 0xfa, let end = chunk[i...].firstIndex(of: 0xf0) {
                        i = end + 1
                        continue
                    }
                    i += 2
                    continue
                }
                plain.append(chunk[i])
                i += 1
            }
            if !reply.isEmpty { _ = try? connection.send(reply, timeout: timeout) }
            text += String(decoding: plain, as: UTF8.self).lowercased()
            if markers.contains(where: text.contains) { return text }
        }
    }

    // MARK: FTP

    func ftp(user: String, password: String) -> Outcome {
        guard let connection = try? TCPConnection(host: host, port: port, timeout: timeout) else { return .failed }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        guard let greeting = try? connection.receive(until: { FTPLogin.finalCode($0) != nil }, limit: 16_384, deadline: deadline),
              FTPLogin.finalCode(greeting) == 220 else { return .failed }
        let login = FTPLogin(connection: connection, timeout: timeout)
        switch login.attempt(user: user, password: password) {
        case true?: return .accepted
        case false?:
            let text = login.lastReply.lowercased()
            return login.lastCode == 421 || text.contains("lock") || text.contains("too many") ? .lockout : .refused
        case nil: return .failed
        }
    }
}

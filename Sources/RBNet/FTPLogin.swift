import RBCore

/// One FTP login on a connection whose `220` greeting was already read: `USER`, then `PASS` when
/// asked (`331`/`332`). Nothing else is sent (no listing, no transfer). Returns true for `230`
/// (logged in), false for a refusal, nil when the server stalls or speaks something else.
final class FTPLogin {
    let connection: TCPConnection
    let timeout: Double
    /// The last reply's code and text.
    private(set) var lastCode: Int?
    private(set) var lastReply = ""

    init(connection: TCPConnection, timeout: Double) {
        self.connection = connection
        self.timeout = timeout
    }

    func attempt(user: String, password: String) -> Bool? {
        guard let userReply = command("USER \(user)") else { return nil }
        if userReply == 230 { return true }
        guard userReply == 331 || userReply == 332 else { return false }
        // Servers delay a refused password on purpose (vsftpd, pyftpdlib: ~3 s).
        guard let passReply = command("PASS \(password)", wait: max(timeout, 5)) else { return nil }
        return passReply == 230
    }

    /// Sends one command line and returns the final reply code (multi-line replies, `230-…`,
    /// end at the line that starts with the code and a space).
    func command(_ line: String, wait: Double? = nil) -> Int? {
        guard (try? connection.send(Array((line + "\r\n").utf8), timeout: timeout)) != nil else { return nil }
        let deadline = ContinuousClock.now + .milliseconds(Int((wait ?? timeout) * 1000))
        guard let reply = try? connection.receive(until: { Self.finalCode($0) != nil }, limit: 16_384, deadline: deadline) else { return nil }
        lastReply = String(decoding: reply, as: UTF8.self)
        lastCode = Self.finalCode(reply)
        return lastCode
    }

    /// The code of the last complete reply line `NNN text\r\n`, when the bytes end one.
    static func finalCode(_ bytes: [UInt8]) -> Int? {
        // Bytes, not Characters: "\r\n" is one Character, so String.hasSuffix("\n") is false.
        guard bytes.last == 10 else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).reversed() {
            let characters = Array(line)
            if characters.count >= 4, characters[3] == " ", let code = Int(String(characters[0..<3])) { return code }
        }
        return nil
    }
}

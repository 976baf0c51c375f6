import Foundation

extension LoopbackProcess {
    /// Starts a UDP server on a free 127.0.0.1 port and waits until the port is bound
    /// (/proc/net/udp lists it).
    public static func launchUDP(_ executable: String, arguments: (UInt16) -> [String]) throws -> (SpawnedProcess, UInt16) {
        var lastError = "no attempt"
        for _ in 0..<5 {
            let port = try TLSTestServer.freePort(udp: true)
            let process = try SpawnedProcess(executable, arguments(port))
            for _ in 0..<100 where process.isRunning {
                if udpBound(port) { return (process, port) }
                usleep(50_000)
            }
            process.stop()
            lastError = "\(executable) \(arguments(port).joined(separator: " ")) did not bind UDP 127.0.0.1:\(port)"
        }
        throw TestSupportError(lastError)
    }

    /// Whether some socket is bound to UDP `port` (IPv4 or IPv6).
    public static func udpBound(_ port: UInt16) -> Bool {
        let suffix = ":" + String(format: "%04X", port)
        for table in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 1, fields[1].hasSuffix(suffix) { return true }
            }
        }
        return false
    }
}

/// A server started from a script written to its own temporary directory (or from a program
/// with the directory as data), on a free 127.0.0.1 port; `stop()` kills it and removes the
/// directory. `arguments` gets the script's path (the directory when there is no script) and
/// the port.
public class ScriptedTestServer: @unchecked Sendable {
    public let port: UInt16
    let process: SpawnedProcess
    let directory: TemporaryDirectory

    init(prefix: String, script: (name: String, text: String)? = nil, executable: String = "/usr/bin/python3", udp: Bool = false,
         arguments: (_ path: String, _ port: UInt16) -> [String]) throws {
        directory = try TemporaryDirectory(prefix: prefix)
        var path = directory.path
        do {
            if let script {
                path = directory.url(script.name)
                try script.text.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o755)
            }
            let launch = udp ? LoopbackProcess.launchUDP : LoopbackProcess.launch
            let scriptPath = path
            (process, port) = try launch(executable) { arguments(scriptPath, $0) }
        } catch {
            directory.remove()
            throw error
        }
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}

/// A real FTP server (pyftpdlib through /usr/bin/python3) on 127.0.0.1, with or without
/// anonymous access and with the given local users (or locking every login), serving its
/// temporary directory read-only.
public final class FTPTestServer: ScriptedTestServer, @unchecked Sendable {
    static let script = """
    import sys
    from pyftpdlib.authorizers import DummyAuthorizer, AuthenticationFailed
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer
    port, root, anonymous, locking = int(sys.argv[1]), sys.argv[2], sys.argv[3] == '1', sys.argv[4] == '1'
    class LockingAuthorizer(DummyAuthorizer):
        def validate_authentication(self, username, password, handler):
            if locking:
                raise AuthenticationFailed('Account locked: too many failed logins')
            DummyAuthorizer.validate_authentication(self, username, password, handler)
    authorizer = LockingAuthorizer()
    if anonymous:
        authorizer.add_anonymous(root)
    for pair in sys.argv[5:]:
        user, password = pair.split(':', 1)
        authorizer.add_user(user, password, root, perm='elr')
    handler = FTPHandler
    handler.authorizer = authorizer
    handler.banner = 'ACME camera FTP ready'
    handler.auth_failed_timeout = 0 if locking else 3
    FTPServer(('127.0.0.1', port), handler).serve_forever()
    """

    /// `locking`: every password is refused with "530 Account locked: too many failed logins".
    public init(anonymous: Bool, users: [(String, String)] = [], locking: Bool = false) throws {
        try super.init(prefix: "rbscan-ftp", script: ("ftp.py", Self.script)) { script, port in
            // The directory holding the script is the (read-only) FTP root.
            [script, String(port), (script as NSString).deletingLastPathComponent, anonymous ? "1" : "0", locking ? "1" : "0"]
                + users.map { "\($0.0):\($0.1)" }
        }
    }
}

/// tftp-hpa's `in.tftpd` in the foreground on a free UDP port of 127.0.0.1, serving an empty
/// temporary directory.
public final class TFTPTestServer: ScriptedTestServer, @unchecked Sendable {
    public init() throws {
        try super.init(prefix: "rbscan-tftp", executable: "/usr/sbin/in.tftpd", udp: true) { root, port in
            ["-L", "-a", "127.0.0.1:\(port)", "-s", root]
        }
    }
}

/// An IP-camera emulator (Python standard library only) for the protocols Debian has no server
/// for: an ONVIF device service (`/onvif/device_service`: GetUsers, GetDeviceInformation, with
/// WS-UsernameToken PasswordDigest checked in `secure` mode), a UPnP device description, an
/// SSDP responder answering unicast M-SEARCH and a WS-Discovery responder answering Probe, each
/// per its specification. Everything listens on 127.0.0.1 only.
public final class CameraEmulator: ScriptedTestServer, @unchecked Sendable {
    public var httpPort: UInt16 { port }
    public let ssdpPort: UInt16
    public let wsdPort: UInt16
    public static let firmware = "V5.5.0 build 170725"
    public static let serial = "CAM1-20170101AAWR123456789"

    static let script = #"""
    import sys, socket, threading, base64, hashlib, re
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    http_port, ssdp_port, wsd_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    secure, password, igd = sys.argv[4] == 'secure', sys.argv[5], sys.argv[6] == '1'
    FW, SERIAL = sys.argv[7], sys.argv[8]
    SOAP = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" '
            'xmlns:ter="http://www.onvif.org/ver10/error"><s:Body>%s</s:Body></s:Envelope>')
    FAULT = ('<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized</s:Value></s:Subcode></s:Code>'
             '<s:Reason><s:Text xml:lang="en">Sender not Authorized</s:Text></s:Reason></s:Fault>')

    def authorized(body):
        m = re.search(r'<wsse:Username>([^<]*)</wsse:Username>.*?<wsse:Password[^>]*>([^<]*)</wsse:Password>'
                      r'.*?<wsse:Nonce[^>]*>([^<]*)</wsse:Nonce>.*?<wsu:Created>([^<]*)</wsu:Created>', body, re.S)
        if not m:
            return False
        user, digest, nonce, created = m.groups()
        expected = base64.b64encode(hashlib.sha1(base64.b64decode(nonce) + created.encode() + password.encode()).digest()).decode()
        return user == 'admin' and digest == expected

    class Handler(BaseHTTPRequestHandler):
        server_version = 'App-webs/'
        sys_version = ''
        def log_message(self, *args):
            pass
        def reply(self, status, body, ctype='application/soap+xml; charset=utf-8'):
            data = body.encode()
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            if self.path == '/description.xml':
                self.reply(200, '<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
                           '<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType><friendlyName>Test camera</friendlyName>'
                           '<manufacturer>ACME</manufacturer><modelName>CAM-1</modelName><serialNumber>%s</serialNumber>'
                           '<UDN>uuid:0b1a7c2e-0000-4000-8000-000000000001</UDN></device></root>' % SERIAL, 'text/xml')
            elif self.path == '/':
                comment = '' if secure else '<!-- build %s -->' % FW
                self.reply(200, '<html><head><title>Login</title></head><body><form><input type="password" name="p"></form>%s</body></html>'
                           % comment, 'text/html')
            else:
                self.reply(404, '<html>Not Found</html>', 'text/html')
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode('utf-8', 'replace')
            if self.path != '/onvif/device_service':
                return self.reply(404, '<html>Not Found</html>', 'text/html')
            if secure and not authorized(body):
                return self.reply(400, SOAP % FAULT)
            if 'GetUsers' in body:
                return self.reply(200, SOAP % '<tds:GetUsersResponse><tds:User><tt:Username>admin</tt:Username>'
                                  '<tt:UserLevel>Administrator</tt:UserLevel></tds:User><tds:User><tt:Username>operator</tt:Username>'
                                  '<tt:UserLevel>Operator</tt:UserLevel></tds:User></tds:GetUsersResponse>')
            if 'GetDeviceInformation' in body:
                return self.reply(200, SOAP % ('<tds:GetDeviceInformationResponse><tds:Manufacturer>ACME</tds:Manufacturer>'
                                  '<tds:Model>CAM-1</tds:Model><tds:FirmwareVersion>%s</tds:FirmwareVersion>'
                                  '<tds:SerialNumber>%s</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId>'
                                  '</tds:GetDeviceInformationResponse>' % (FW, SERIAL)))
            self.reply(400, SOAP % FAULT)

    def ssdp():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', ssdp_port))
        targets = ['upnp:rootdevice'] + (['urn:schemas-upnp-org:device:InternetGatewayDevice:1',
                                          'urn:schemas-upnp-org:service:WANIPConnection:1'] if igd else [])
        while True:
            data, peer = s.recvfrom(65536)
            if not data.startswith(b'M-SEARCH * HTTP/1.1'):
                continue
            for st in targets:
                s.sendto(('HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n'
                          'LOCATION: http://127.0.0.1:%d/description.xml\r\nSERVER: Linux/3.10 UPnP/1.0 IPCamera/1.0\r\n'
                          'ST: %s\r\nUSN: uuid:0b1a7c2e-0000-4000-8000-000000000001::%s\r\n\r\n' % (http_port, st, st)).encode(), peer)

    def wsd():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', wsd_port))
        while True:
            data, peer = s.recvfrom(65536)
            text = data.decode('utf-8', 'replace')
            if 'discovery/Probe<' not in text:
                continue
            m = re.search(r'MessageID>([^<]*)<', text)
            s.sendto(('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                      'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
                      'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
                      '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>'
                      '<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>'
                      '<a:EndpointReference><a:Address>urn:uuid:0b1a7c2e-0000-4000-8000-000000000001</a:Address></a:EndpointReference>'
                      '<d:Types>dn:NetworkVideoTransmitter</d:Types>'
                      '<d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/CAM-1 onvif://www.onvif.org/name/ACME</d:Scopes>'
                      '<d:XAddrs>http://127.0.0.1:%d/onvif/device_service</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>'
                      '</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>' % (m.group(1) if m else '', http_port)).encode(), peer)

    threading.Thread(target=ssdp, daemon=True).start()
    threading.Thread(target=wsd, daemon=True).start()
    ThreadingHTTPServer(('127.0.0.1', http_port), Handler).serve_forever()
    """#

    /// `secure`: ONVIF operations need a WS-UsernameToken for admin/`password` and the web root
    /// carries no build string. `igd`: SSDP also announces an Internet Gateway Device.
    public init(secure: Bool, password: String = "not-default-7", igd: Bool = false) throws {
        let ssdp = try TLSTestServer.freePort(udp: true)
        let wsd = try TLSTestServer.freePort(udp: true)
        ssdpPort = ssdp
        wsdPort = wsd
        try super.init(prefix: "rbscan-camera", script: ("camera.py", Self.script)) { script, port in
            [script, String(port), String(ssdp), String(wsd), secure ? "secure" : "open", password, igd ? "1" : "0",
             CameraEmulator.firmware, CameraEmulator.serial]
        }
    }
}

/// An SSH server that checks passwords (Paramiko's server mode through /usr/bin/python3) on
/// 127.0.0.1: it accepts `user`/`password` by password authentication and opens no channel.
/// OpenSSH and Dropbear check passwords against the system's accounts, which tests must not
/// touch; Paramiko keeps the account in the test.
public final class SSHPasswordServer: ScriptedTestServer, @unchecked Sendable {
    static let script = """
    import sys, socket, threading, paramiko
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    key = paramiko.ECDSAKey.generate(bits=256)
    class Server(paramiko.ServerInterface):
        def get_allowed_auths(self, username):
            return 'password'
        def check_auth_password(self, username, given):
            return paramiko.AUTH_SUCCESSFUL if (username, given) == (user, password) else paramiko.AUTH_FAILED
        def check_channel_request(self, kind, chanid):
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
    def handle(conn):
        transport = paramiko.Transport(conn)
        transport.add_server_key(key)
        try:
            transport.start_server(server=Server())
            while transport.is_active():
                transport.join(1)
        except Exception:
            pass
        finally:
            transport.close()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', port))
    sock.listen(16)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    """

    public init(user: String, password: String) throws {
        try super.init(prefix: "rbscan-sshpw", script: ("ssh.py", Self.script)) { script, port in [script, String(port), user, password] }
    }

    public var uri: String { "ssh://127.0.0.1:\(port)" }
}

/// BusyBox telnetd on 127.0.0.1 whose login program (a shell script in a temporary directory)
/// asks for a user and password like login(1), accepts only `user`/`password`, and answers a
/// wrong pair after a delay with "Login incorrect".
public final class TelnetLoginServer: ScriptedTestServer, @unchecked Sendable {
    public init(user: String, password: String) throws {
        let script = """
        #!/bin/sh
        printf 'camera login: '
        read -r name
        printf 'Password: '
        stty -echo 2>/dev/null
        read -r secret
        stty echo 2>/dev/null
        name=$(printf '%s' "$name" | tr -d '\\r')
        secret=$(printf '%s' "$secret" | tr -d '\\r')
        if [ "$name" = '\(user)' ] && [ "$secret" = '\(password)' ]; then
          printf '\\nWelcome to the camera\\n# '
          sleep 2
          exit 0
        fi
        sleep 1
        printf '\\nLogin incorrect\\n'
        exit 1
        """
        try super.init(prefix: "rbscan-telnet", script: ("login.sh", script), executable: "/bin/busybox") { login, port in
            ["telnetd", "-F", "-p", String(port), "-b", "127.0.0.1", "-l", login]
        }
    }
}

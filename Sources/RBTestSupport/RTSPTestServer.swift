import Foundation

/// A real RTSP server (GStreamer's gst-rtsp-server through /usr/bin/python3 and GObject
/// introspection) on 127.0.0.1 serving a live test audio stream at `/live`, with or without
/// Basic authentication.
public final class RTSPTestServer: @unchecked Sendable {
    public let port: UInt16
    let process: SpawnedProcess
    let directory: TemporaryDirectory

    static let script = """
    import sys, gi
    gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); gi.require_version('GstRtsp', '1.0')
    from gi.repository import Gst, GstRtspServer, GstRtsp, GLib
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1'); server.set_service(sys.argv[1])
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch('( audiotestsrc is-live=1 ! audioconvert ! audioresample ! rtpL16pay name=pay0 pt=96 )')
    factory.set_shared(True)
    if len(sys.argv) > 2:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string('media.factory.role', 'user')
        if sys.argv[2] == 'digest':
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest('admin', sys.argv[3], token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic('admin', sys.argv[3]), token)
        server.set_auth(auth)
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            'user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true'))
    server.get_mount_points().add_factory('/live', factory)
    server.attach(None)
    GLib.MainLoop().run()
    """

    public enum Auth: Sendable { case none, basic(password: String), digest(password: String) }

    public convenience init(basicAuth: Bool) throws {
        try self.init(auth: basicAuth ? .basic(password: "secret") : .none)
    }

    public init(auth: Auth) throws {
        directory = try TemporaryDirectory(prefix: "rbscan-rtsp")
        try Self.script.write(toFile: directory.url("rtsp.py"), atomically: true, encoding: .utf8)
        let script = directory.url("rtsp.py")
        do {
            let extra: [String] = switch auth {
            case .none: []
            case .basic(let password): ["basic", password]
            case .digest(let password): ["digest", password]
            }
            (process, port) = try LoopbackProcess.launch("/usr/bin/python3") { [script, String($0)] + extra }
        } catch {
            directory.remove()
            throw error
        }
    }

    public var uri: String { "rtsp://127.0.0.1:\(port)" }

    public func stop() {
        process.stop()
        directory.remove()
    }
}

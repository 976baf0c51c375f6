/// What the RTSP probe learned about one `rtsp://` endpoint (no credentials sent): the JSON
/// report's `endpoints[].rtsp`.
public struct RTSPFacts: Codable, Sendable, Equatable {
    public struct Path: Codable, Sendable, Equatable {
        public var path: String
        /// The DESCRIBE answer's status.
        public var status: Int
        /// `WWW-Authenticate` challenges of a 401.
        public var challenges: [String]
        /// The SDP describes media (`m=video` or `m=audio`).
        public var media: Bool
        public init(path: String, status: Int, challenges: [String], media: Bool) {
            self.path = path
            self.status = status
            self.challenges = challenges
            self.media = media
        }
    }

    public var server: String?
    /// Default-credential attempts (`--allow-auth-tests` only).
    public var defaultLogin: LoginAttempts?
    /// The `Public` methods of the OPTIONS answer.
    public var methods: [String]
    public var paths: [Path]
    public var requests: Int

    public init(server: String?, methods: [String], paths: [Path], requests: Int) {
        self.server = server
        self.methods = methods
        self.paths = paths
        self.requests = requests
    }

    /// Stream paths tried when the profile names none: common camera and NVR paths.
    public static let commonPaths = ["/", "/live", "/live.sdp", "/stream1", "/h264", "/11", "/Streaming/Channels/101",
                                     "/cam/realmonitor?channel=1&subtype=0", "/test"]
}

/// What the HTTP probe learned about one `http://` or `https://` endpoint: the JSON report's
/// `endpoints[].http`.
public struct HTTPFacts: Codable, Sendable, Equatable {
    public struct Response: Codable, Sendable, Equatable {
        public var status: Int
        /// [name, value] pairs in the order sent (names as sent; compare case-insensitively).
        public var headers: [[String]]
        public var title: String?
        /// The page holds an `<input type="password">` (a login form).
        public var passwordForm: Bool
        /// The page is an auto-generated directory index.
        public var directoryListing: Bool
        /// The body's first 64 KiB as text, for the checks that read it (RB-SEN-004); left out of
        /// the JSON report.
        public var text: String = ""

        enum CodingKeys: String, CodingKey { case status, headers, title, passwordForm, directoryListing }

        public init(status: Int, headers: [[String]], title: String?, passwordForm: Bool, directoryListing: Bool) {
            self.status = status
            self.headers = headers
            self.title = title
            self.passwordForm = passwordForm
            self.directoryListing = directoryListing
        }

        /// Every value of header `name` (case-insensitive).
        public func values(_ name: String) -> [String] {
            headers.filter { $0.count == 2 && $0[0].lowercased() == name.lowercased() }.map { $0[1] }
        }
    }

    public struct Trace: Codable, Sendable, Equatable {
        public var status: Int
        /// The request came back in the body (TRACE enabled).
        public var echoed: Bool
        public init(status: Int, echoed: Bool) {
            self.status = status
            self.echoed = echoed
        }
    }

    public struct Bypass: Codable, Sendable, Equatable {
        public var path: String
        public var statusWithout: Int
        public var statusWith: Int
        /// The answer with `?auth=` carried the success marker.
        public var marker: Bool
        public init(path: String, statusWithout: Int, statusWith: Int, marker: Bool) {
            self.path = path
            self.statusWithout = statusWithout
            self.statusWith = statusWith
            self.marker = marker
        }
    }

    public struct Sensitive: Codable, Sendable, Equatable {
        public var path: String
        public var status: Int
        /// A 200 answer carried the profile's success marker: the data was served.
        public var marker: Bool
        public init(path: String, status: Int, marker: Bool) {
            self.path = path
            self.status = status
            self.marker = marker
        }
    }

    /// `GET /`, sent with `Origin: https://rbscan.invalid`.
    public var root: Response
    public var trace: Trace?
    /// The CVE-2017-7921 pattern, on the paths that refused the request without `?auth=`.
    public var authBypass: [Bypass] = []
    /// Default-credential attempts (`--allow-auth-tests` only); nil when none were made.
    public var defaultLogin: LoginAttempts?
    /// The device profile's sensitive paths, requested without credentials.
    public var sensitive: [Sensitive] = []
    /// The ONVIF device service, asked without credentials (nil: no path answered as ONVIF).
    public var onvif: ONVIFFacts?
    /// A page that does not exist (`/rbscan-<random>`), for what error pages tell (RB-SEN-004).
    public var notFound: Response?
    public var requests: Int = 0

    public init(root: Response) { self.root = root }

    /// The page is the management UI's door: a login form or an authentication challenge.
    public var servesLogin: Bool { root.passwordForm || root.status == 401 }
}

/// The outcome of opt-in default-credential attempts on one surface.
public struct LoginAttempts: Codable, Sendable, Equatable {
    public var attempts: Int
    /// The user name of a default pair the surface accepted.
    public var accepted: String?
    /// The surface showed a lockout signal and the attempts stopped.
    public var lockout: Bool
    public init(attempts: Int, accepted: String?, lockout: Bool) {
        self.attempts = attempts
        self.accepted = accepted
        self.lockout = lockout
    }
}

/// What an ONVIF device service answered to SOAP requests sent without a `wsse:Security` header.
public struct ONVIFFacts: Codable, Sendable, Equatable {
    public struct Answer: Codable, Sendable, Equatable {
        public var status: Int
        /// The SOAP fault subcode or reason (`ter:NotAuthorized`, "Sender not authorized"), if any.
        public var fault: String?
        public init(status: Int, fault: String?) {
            self.status = status
            self.fault = fault
        }
    }
    public var path: String
    /// `tds:GetUsers`.
    public var getUsers: Answer
    /// The user names a successful GetUsers listed.
    public var usernames: [String] = []
    /// `tds:GetDeviceInformation`.
    public var getDeviceInformation: Answer?
    /// Manufacturer, Model, FirmwareVersion, SerialNumber, HardwareId from a successful answer.
    public var deviceInformation: [String: String] = [:]
    /// Default-credential attempts with WS-UsernameToken (`--allow-auth-tests` only).
    public var defaultLogin: LoginAttempts?
    public init(path: String, getUsers: Answer) {
        self.path = path
        self.getUsers = getUsers
    }

    /// GetUsers was answered with at least one user and no fault: user management is open.
    public var usersExposed: Bool { getUsers.status == 200 && getUsers.fault == nil && !usernames.isEmpty }
}

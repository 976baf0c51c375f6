"""rbscan_plugin: rbscan's external check plugin protocol 1 (docs/plugins.md) in one file.

Standard library only (Python 3.11, Debian 12's python3). A plugin's program:

    import rbscan_plugin

    def check(session):
        for entry in session.list("**/acme.conf"):
            if entry["type"] != "file":
                continue
            text = session.read_text(entry["path"])      # None: a binary file
            for number, line in enumerate((text or "").splitlines(), 1):
                if line.replace(" ", "") == "debug=1":
                    session.observe(entry["path"], "debug is on", line=number, key="debug", snippet=line)

    rbscan_plugin.run(check)

Every message of the protocol has its method: the run message is read first (session.run,
.check, .rule, .options, .target, .endpoint); list, stat and read (byte ranges, unless_binary)
ask rbscan for the target's files, the only way a plugin reaches them; result sends the
observations. rbscan's error answers (a path outside the target, no such file, beyond
--max-file-size) raise RequestError; a broken conversation raises ProtocolError.

Plugins run with a cleared environment (no PYTHONPATH), so this file is found next to the
plugin's program (`rbscan plugins new` copies it there; Python puts the program's directory
first on sys.path) or, for the examples in rbscan's Plugins/, in the sibling Plugins/sdk/python
(their check.py adds that directory). Keep a copy at the version of the rbscan it targets.
"""

import base64
import json
import os
import sys

PROTOCOL = 1
"""The protocol version this file speaks (a manifest's `protocol:`)."""

MAX_READ = 4 << 20
"""Bytes one read answers at most; read_all reads larger files in ranges."""

STATUSES = ("fail", "review", "notApplicable")
SEVERITIES = ("info", "low", "medium", "high", "critical")


class RequestError(Exception):
    """rbscan refused a request or could not serve it (an `error` answer)."""

    def __init__(self, message, path=None):
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class ProtocolError(Exception):
    """The conversation broke: rbscan closed it (closed is True: the run is over) or answered
    something that is not protocol 1."""

    def __init__(self, message, closed=False):
        super().__init__(f"rbscan plugin protocol: {message}")
        self.closed = closed


def observation(path, message, *, line=None, status=None, severity=None, key=None, snippet=None, facts=None):
    """One observation as the result message carries it.

    path: target-relative ("etc/x.conf"), or None for the target as a whole. status: "fail"
    (default), "review" or "notApplicable"; severity overrides the rule's. key is the finding's
    stable identity within the rule and path (its fingerprint): give one that does not depend on
    wording or line numbers. facts: {name: text}.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    item = {"message": message}
    if path is not None:
        item["path"] = path
    if line is not None:
        item["line"] = int(line)
    if status is not None:
        item["status"] = status
    if severity is not None:
        item["severity"] = severity
    evidence = {}
    if key is not None:
        evidence["key"] = key
    if snippet is not None:
        evidence["snippet"] = snippet
    if facts:
        evidence["facts"] = {str(name): str(value) for name, value in facts.items()}
    if evidence:
        item["evidence"] = evidence
    return item


class Session:
    """One run: the conversation with rbscan over stdin and stdout.

    With no arguments it takes stdin and stdout, and points file descriptor 1 at stderr: a stray
    print() (the plugin's or a child process's) would otherwise be a line of the protocol and end
    the run as "not a protocol message"; rbscan keeps the end of stderr for its diagnostic.
    """

    def __init__(self, input=None, output=None):
        if input is None:
            input = sys.stdin.buffer
        if output is None:
            sys.stdout.flush()
            output = os.fdopen(os.dup(1), "wb", buffering=0)
            os.dup2(2, 1)
        self._input = input
        self._output = output
        self._finished = False
        self.observations = []
        self.run = self._receive()
        if self.run.get("type") != "run":
            raise ProtocolError(f"the first message is {self.run.get('type')!r}, not run")
        if self.run.get("protocol") != PROTOCOL:
            raise ProtocolError(f"rbscan speaks protocol {self.run.get('protocol')}, this helper {PROTOCOL}")

    @property
    def check(self):
        """The check's ID from the manifest (one program may provide several)."""
        return self.run["check"]

    @property
    def rule(self):
        """The rule using the check."""
        return self.run["rule"]

    @property
    def options(self):
        """The rule's options: a dict (YAML's true/false/null and numbers typed, other scalars strings)."""
        return self.run.get("options") or {}

    @property
    def target(self):
        """{"kind": "firmware"|"config"|"endpoint", "name": ..., "hasMetadata": bool}."""
        return self.run["target"]

    @property
    def endpoint(self):
        """{"scheme", "host", "port"} for an endpoint target, else None."""
        return self.run.get("endpoint")

    # Requests

    def list(self, *globs):
        """The target's entries matching rbscan's globs (*, **, ?, [...]; target-relative), each
        {"path", "type", "size", "mode"}, in the order that reads them fastest. Globs are given
        as arguments or as one list; none means every entry."""
        if len(globs) == 1 and not isinstance(globs[0], str):
            globs = tuple(globs[0])
        answer = self._request({"type": "list", "globs": list(globs) or ["**"]}, "files")
        return answer["files"]

    def stat(self, path):
        """An entry's metadata (a link followed inside the target): {"path", "fileType", "size",
        "mode", "uid", "gid"} and "link" when path itself is a symbolic link."""
        return self._request({"type": "stat", "path": path}, "stat")

    def read(self, path, offset=0, length=MAX_READ, unless_binary=False):
        """One range of a regular file, at most MAX_READ bytes: the data answer with "data" as
        bytes ({"path", "offset", "size", "eof", "data"}), or with unless_binary at offset 0 and a
        file whose first 8 KiB hold a NUL byte, the binary answer ({"type": "binary", "size"})."""
        message = {"type": "read", "path": path, "offset": offset, "length": length}
        if unless_binary:
            message["unlessBinary"] = True
        answer = self._request(message, "data", "binary")
        if answer["type"] == "data":
            answer["data"] = base64.b64decode(answer["data"])
        return answer

    def read_all(self, path, unless_binary=False):
        """A whole file as bytes, read in ranges up to its end (or --max-file-size, where rbscan
        stops); None when unless_binary and the file is binary."""
        chunks, offset = [], 0
        while True:
            answer = self.read(path, offset, MAX_READ, unless_binary and offset == 0)
            if answer["type"] == "binary":
                return None
            chunks.append(answer["data"])
            offset += len(answer["data"])
            if answer.get("eof") or not answer["data"]:
                return b"".join(chunks)

    def read_text(self, path):
        """A text file as str (UTF-8, invalid bytes replaced); None when it is binary."""
        data = self.read_all(path, unless_binary=True)
        return None if data is None else data.decode("utf-8", "replace")

    def observe(self, path, message, **fields):
        """Adds an observation to the result (the arguments of observation())."""
        self.observations.append(observation(path, message, **fields))

    def result(self, observations=()):
        """The last message: the observations given here and through observe(). None is a pass."""
        self._send({"type": "result", "observations": self.observations + list(observations)})
        self._finished = True

    # The conversation

    def _request(self, message, *expected):
        self._send(message)
        answer = self._receive()
        if answer.get("type") == "error":
            raise RequestError(answer.get("message", "refused"), answer.get("path"))
        if answer.get("type") not in expected:
            raise ProtocolError(f"{message['type']} was answered with {answer.get('type')!r}")
        return answer

    def _send(self, message):
        if self._finished:
            raise ProtocolError("the result is sent already")
        try:
            self._output.write((json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8"))
            self._output.flush()
        except BrokenPipeError:
            raise ProtocolError("rbscan closed the conversation", closed=True) from None

    def _receive(self):
        while True:
            line = self._input.readline()
            if not line:
                raise ProtocolError("rbscan closed the conversation", closed=True)
            if line.strip():
                break
        try:
            message = json.loads(line)
        except ValueError as error:
            raise ProtocolError(f"not a protocol message: {error}") from None
        if not isinstance(message, dict):
            raise ProtocolError("not a protocol message: not an object")
        return message


def run(check):
    """Runs a plugin: reads the run message, calls check(session), sends the result (what
    session.observe collected, and the observations check returns, if any). rbscan closing the
    conversation ends the program quietly; any other exception prints its traceback to stderr
    and exits 1, which rbscan reports as plugin.failed with the end of stderr."""
    try:
        session = Session()
        returned = check(session)
        session.result(returned or ())
    except ProtocolError as error:
        if error.closed:
            sys.exit(0)
        raise

/// The files `rbscan plugins new` writes: path → (text, mode).
public enum PluginTemplate {
    public static func files(name: String, lang: String) -> [String: (String, Int)] {
        let namespace = String(name.uppercased().filter { $0.isLetter || $0.isNumber }.prefix(12))
        let prefix = namespace.count >= 2 && namespace.first!.isLetter ? namespace : "PLUG"
        let check = "\(name).debug-switch"
        let program = lang == "python" ? "check.py" : "check.sh"
        let manifest = """
            # An rbscan external check plugin (docs/plugins.md). Test it: rbscan plugins test --plugins .
            protocol: 1
            id: \(name)
            version: 0.1.0
            command: [\(lang == "python" ? "python3" : "sh"), \(program)]
            timeout: 30
            checks:
              - id: \(check)
                summary: A debug switch left on in etc/\(name).conf (debug=1)
                targets: [firmware, config]

            """
        let rules = """
            version: 1
            pack: \(name)
            title: \(name) (plugin)
            rules:
              - id: \(prefix)-SYS-001
                title: No debug switch in release configuration
                category: SYS
                severity: medium
                description: |
                  etc/\(name).conf must not ship with debug=1: debug modes log secrets and open interfaces.
                remediation: |
                  Set debug=0 in the release image's etc/\(name).conf.
                check: \(check)
                targets: [firmware, config]
                examples:
                  fail:
                    - files:
                        etc/\(name).conf: "name=device\\ndebug=1\\n"
                      line: 2
                  pass:
                    - files:
                        etc/\(name).conf: "name=device\\ndebug=0\\n"

            """
        let python = """
            #!/usr/bin/env python3
            \"\"\"rbscan plugin (protocol 1): reports debug=1 in **/\(name).conf. Files come only through rbscan.\"\"\"
            import base64, json, sys

            def send(message):
                sys.stdout.write(json.dumps(message) + "\\n")
                sys.stdout.flush()

            def receive():
                line = sys.stdin.readline()
                if not line:
                    sys.exit(0)
                return json.loads(line)

            request = receive()                      # {"type": "run", "check": ..., "options": ..., "target": ...}
            send({"type": "list", "globs": ["**/\(name).conf"]})
            observations = []
            for entry in receive().get("files", []):
                if entry["type"] != "file":
                    continue
                send({"type": "read", "path": entry["path"], "offset": 0, "length": 1 << 20, "unlessBinary": True})
                answer = receive()
                if answer.get("type") != "data":
                    continue
                text = base64.b64decode(answer["data"]).decode("utf-8", "replace")
                for number, line in enumerate(text.splitlines(), 1):
                    if line.replace(" ", "") == "debug=1":
                        observations.append({"path": entry["path"], "line": number, "message": f"debug is on in {entry['path']}",
                                             "evidence": {"key": "debug", "snippet": line}})
            send({"type": "result", "observations": observations})

            """
        let shell = """
            #!/bin/sh
            # rbscan plugin (protocol 1): reports debug=1 in **/\(name).conf. Files come only through rbscan.
            read -r request || exit 0
            printf '{"type":"list","globs":["**/\(name).conf"]}\\n'
            read -r listing || exit 0
            found=""
            for path in $(printf '%s\\n' "$listing" | grep -o '"path":"[^"]*","size":[0-9]*,"type":"file"' | sed 's/^"path":"\\([^"]*\\)".*/\\1/'); do
              printf '{"type":"read","path":"%s","offset":0,"length":1048576,"unlessBinary":true}\\n' "$path"
              read -r answer || exit 0
              case "$answer" in *'"type":"data"'*) ;; *) continue ;; esac
              line=$(printf '%s' "$answer" | sed 's/.*"data":"\\([^"]*\\)".*/\\1/' | base64 -d | grep -n -x 'debug *= *1' | head -n 1 | cut -d: -f1)
              [ -n "$line" ] && found="$found{\\"path\\":\\"$path\\",\\"line\\":$line,\\"message\\":\\"debug is on in $path\\",\\"evidence\\":{\\"key\\":\\"debug\\"}},"
            done
            printf '{"type":"result","observations":[%s]}\\n' "${found%,}"

            """
        let readme = """
            # \(name): an rbscan external check plugin

            `\(program)` speaks rbscan's plugin protocol 1 (docs/plugins.md in rbscan): it lists the target's
            `\(name).conf` files, reads them through rbscan and reports `debug=1`. The rule using its check,
            with pass and fail examples, is in `rules/\(name).yaml` (ID namespace `\(prefix)-`).

            ```sh
            rbscan plugins test --plugins .          # the rule's examples, through the plugin
            rbscan scan firmware.bin --plugins .     # a scan with the plugin's rules beside the shipped ones
            ```

            """
        return ["plugin.yaml": (manifest, 0o644), program: (lang == "python" ? python : shell, 0o755),
                "rules/\(name).yaml": (rules, 0o644), "README.md": (readme, 0o644)]
    }
}

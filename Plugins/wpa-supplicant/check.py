#!/usr/bin/env python3
"""rbscan plugin (protocol 1): judges the network blocks of wpa_supplicant configuration files.

It reads the target only through rbscan (list, read); it never opens a host path. Options:
  paths: globs of the files to read (default: **/wpa_supplicant*.conf)
Observations: an open network (key_mgmt=NONE without WEP keys), WEP (wep_key0..3), and a
WPA network allowing TKIP only (pairwise=TKIP). A pre-shared key stored as a passphrase in
clear (psk="...") is reported for review (the hashed 64-hex form is not a passphrase).
"""
import os
import re
import sys

# The protocol helper (Plugins/sdk/python/rbscan_plugin.py). rbscan runs this file by its
# absolute path with a cleared environment, so no PYTHONPATH: a copy beside this file wins (a
# plugin moved out of rbscan's Plugins/ takes one along), else the sibling Plugins/sdk/python.
# No bytecode is written into those directories: a run leaves the plugin's files as they were.
sys.dont_write_bytecode = True
sys.path.insert(1, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "sdk", "python"))
import rbscan_plugin  # noqa: E402


def networks(text):
    """(start line, {key: (value, line)}) for every network={...} block."""
    blocks, current, start = [], None, 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if current is None and re.match(r"network\s*=\s*\{", line):
            current, start = {}, number
            continue
        if current is not None:
            if line.startswith("}"):
                blocks.append((start, current))
                current = None
                continue
            key, _, value = line.partition("=")
            current[key.strip()] = (value.strip(), number)
    return blocks


def judge(path, text):
    out = []
    for start, block in networks(text):
        ssid = block.get("ssid", ("?", start))[0].strip('"')
        key_mgmt = block.get("key_mgmt", ("WPA-PSK IEEE8021X", start))[0].upper()
        wep = [k for k in block if re.fullmatch(r"wep_key[0-3]", k)]
        where = {"path": path, "line": start}
        if wep:
            out.append(dict(where, message=f"network {ssid} uses WEP ({', '.join(sorted(wep))}): broken encryption",
                            severity="high", evidence={"key": f"wep:{ssid}", "snippet": f"network={{ ssid={ssid} {wep[0]}=… }}"}))
        elif "NONE" in key_mgmt.split():
            out.append(dict(where, message=f"network {ssid} is open (key_mgmt=NONE): traffic in clear",
                            severity="high", evidence={"key": f"open:{ssid}"}))
        pairwise = block.get("pairwise", ("", start))[0].upper().split()
        if pairwise and set(pairwise) <= {"TKIP"}:
            out.append(dict(path=path, line=block["pairwise"][1], message=f"network {ssid} allows TKIP only (pairwise=TKIP)",
                            severity="medium", evidence={"key": f"tkip:{ssid}"}))
        psk = block.get("psk")
        if psk and psk[0].startswith('"'):
            out.append(dict(path=path, line=psk[1], status="review",
                            message=f"network {ssid} stores its passphrase in clear (psk=\"…\"); wpa_passphrase stores the derived key",
                            evidence={"key": f"psk-clear:{ssid}"}))
    return out


def check(session):
    globs = session.options.get("paths") or ["**/wpa_supplicant*.conf"]
    for entry in session.list(globs):
        if entry["type"] != "file":
            continue
        try:
            data = session.read_all(entry["path"])
        except rbscan_plugin.RequestError:
            continue  # unreadable in the target: rbscan's own diagnostics say why
        session.observations += judge(entry["path"], data.decode("utf-8", "replace"))


if __name__ == "__main__":
    rbscan_plugin.run(check)

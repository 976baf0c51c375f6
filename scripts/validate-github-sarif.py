#!/usr/bin/env python3
"""Check a SARIF file against what GitHub code scanning documents for uploads.

usage: validate-github-sarif.py FILE [--repo DIR]

Sources (the rules below cite them):
  [DOC] github/docs, content/code-security/code-scanning/integrating-with-code-scanning/
        sarif-support-for-code-scanning.md ("SARIF support for code scanning"): supported
        properties, security-severity on the rule (reportingDescriptor) with its score bands,
        runAutomationDetails, relative URIs resolved from the repository root, limits.
  [ACT] github/codeql-action src/upload-lib.ts and src/fingerprints.ts: the upload rejects
        several runs of one tool and category in a file, and computes primaryLocationLineHash
        only for files present in the checkout (so a scanner of image paths must send its own).
  [ISS] github/codeql-action#2215 (uriBaseId / originalUriBaseIds not supported), #1230
        (suppressions not honoured: every uploaded result is an open alert).

Exit 0 when every rule holds; 1 with each violation listed.
"""
import json
import sys
from urllib.parse import unquote

BANDS = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}
problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    repo = None
    if "--repo" in args:
        i = args.index("--repo")
        repo = args[i + 1]
        del args[i:i + 2]
    path = args[0]
    log = json.load(open(path, encoding="utf-8"))
    runs = log.get("runs", [])
    # [DOC] limits: 20 runs per file, 25,000 results per run, 25,000 rules per run.
    if len(runs) > 20:
        problem("runs", f"{len(runs)} runs; GitHub accepts at most 20 per file")
    categories = set()
    for r, run in enumerate(runs):
        where = f"runs[{r}]"
        driver = run.get("tool", {}).get("driver", {})
        rules = driver.get("rules", [])
        results = run.get("results", [])
        # [DOC]/[ACT] runAutomationDetails.id distinguishes analyses; one tool + category per file.
        auto = run.get("automationDetails", {}).get("id")
        if not auto:
            problem(where, "no automationDetails.id: several targets' runs would collapse into one analysis")
        else:
            category = auto.rsplit("/", 1)[0] if "/" in auto else auto
            key = (driver.get("name"), category)
            if key in categories:
                problem(where, f"category {category!r} repeats within the file (the upload rejects it)")
            categories.add(key)
        if len(results) > 25000:
            problem(where, f"{len(results)} results; GitHub accepts at most 25,000 per run")
        if len(rules) > 25000:
            problem(where, f"{len(rules)} rules; GitHub accepts at most 25,000 per run")
        for k, rule in enumerate(rules):
            rw = f"{where}.rules[{k}] {rule.get('id')}"
            # [DOC] name <= 255, shortDescription and fullDescription <= 1,024 characters.
            if len(rule.get("name", "")) > 255:
                problem(rw, "name longer than 255 characters")
            for field in ("shortDescription", "fullDescription"):
                text = rule.get(field, {}).get("text", "")
                if not text:
                    problem(rw, f"{field} is empty")
                if len(text) > 1024:
                    problem(rw, f"{field} is {len(text)} characters; GitHub's limit is 1,024")
            props = rule.get("properties", {})
            tags = props.get("tags", [])
            if len(tags) > 20:
                problem(rw, f"{len(tags)} tags; GitHub's limit is 20")
            score = props.get("security-severity")
            if score is not None:
                try:
                    float(score)
                except ValueError:
                    problem(rw, f"security-severity {score!r} is not a number")
                if "security" not in tags:
                    problem(rw, "security-severity without the security tag")
        for n, result in enumerate(results):
            rw = f"{where}.results[{n}] {result.get('ruleId')}"
            # [ISS #1230] every uploaded result is an open alert: only failing, unsuppressed ones.
            if result.get("kind", "fail") != "fail":
                problem(rw, f"kind {result.get('kind')!r} would still be an open alert")
            if result.get("suppressions"):
                problem(rw, "suppressed results are shown as open alerts")
            # [DOC] severity is read from the rule: the rule must carry this result's severity.
            index = result.get("ruleIndex")
            rule = rules[index] if isinstance(index, int) and 0 <= index < len(rules) else None
            if rule is None or rule.get("id") != result.get("ruleId"):
                problem(rw, "ruleIndex does not name the result's rule")
            else:
                effective = result.get("properties", {}).get("severity")
                score = rule.get("properties", {}).get("security-severity")
                if effective in BANDS:
                    low, high = BANDS[effective]
                    if score is None or not (low <= float(score) <= high):
                        problem(rw, f"the result is {effective} but its rule's security-severity is {score!r} (GitHub shows the rule's)")
            # [DOC]/[ISS #2215] a relative URI from the repository root, no uriBaseId, a region.
            locations = result.get("locations") or []
            if not locations:
                problem(rw, "no location (an empty locations array fails the upload)")
                continue
            if len(locations) > 1000:
                problem(rw, "more than 1,000 locations")
            physical = locations[0].get("physicalLocation", {})
            artifact = physical.get("artifactLocation", {})
            uri = artifact.get("uri", "")
            if "uriBaseId" in artifact:
                problem(rw, "uriBaseId is not supported by GitHub")
            if not uri or uri.startswith("/") or "://" in uri or ".." in uri.split("/") or " " in uri:
                problem(rw, f"uri {uri!r} is not a repository-relative path")
            elif ":" in uri.split("/")[0]:
                problem(rw, f"uri {uri!r} has a colon in its first segment")
            region = physical.get("region")
            if not region or not isinstance(region.get("startLine"), int) or region["startLine"] < 1:
                problem(rw, "no region with a startLine >= 1")
            # [ACT] the upload computes this only for files in the checkout.
            line_hash = result.get("partialFingerprints", {}).get("primaryLocationLineHash")
            if not line_hash or ":" not in line_hash:
                problem(rw, "no partialFingerprints.primaryLocationLineHash")
            if repo is not None and uri and not uri.startswith("rbscan-endpoints/"):
                import os
                if not os.path.exists(os.path.join(repo, unquote(uri))):
                    problem(rw, f"uri {uri!r} is not a file of the repository {repo}")
    if "originalUriBaseIds" in json.dumps(runs):
        problem("runs", "originalUriBaseIds is not supported by GitHub")
    for line in problems:
        print(f"{path}: {line}")
    if not problems:
        print(f"{path}: follows GitHub code scanning's documented SARIF rules ({len(runs)} run(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Validate CycloneDX JSON files against the official CycloneDX 1.5 schema, with the CycloneDX
project's own validator (cyclonedx-python-lib, installed by scripts/install-deps into a virtual
environment; run this with that environment's python).

usage: validate-cyclonedx.py FILE...
Exit 0 when every file is valid; 1 with the errors otherwise; 2 when the library is missing.
"""
import sys

try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError:
    print("validate-cyclonedx: cyclonedx-python-lib is missing (run scripts/install-deps)", file=sys.stderr)
    sys.exit(2)


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    validator = JsonStrictValidator(SchemaVersion.V1_5)
    failed = False
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            error = validator.validate_str(handle.read())
        if error is not None:
            print(f"{path}: {error}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

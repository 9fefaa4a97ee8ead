"""OCDS checks the reporting tests run offline with the standard tools.

  ocds_check.py validate ZIP FILE    libcoveocds on a release or record
                                     package, against the OCDS 1.1.5 schema
                                     in ZIP; prints its JSON report
  ocds_check.py compile ZIP FILE     ocdskit's compile (the reference merge,
                                     ocdsmerge) of the releases of a record
                                     package FILE; prints the compiled
                                     releases as a JSON list

Record packages do not validate offline as the standard ships them: the
record-package schema refers to the versioned-release schema by its
canonical URL. `validate` therefore works on a copy of ZIP in which that
reference is replaced by the dereferenced versioned-release validation
schema (errors in compiled and versioned releases still show).
"""

import json
import os
import subprocess
import sys
import tempfile
import zipfile

import jsonref

VERSIONED = "versioned-release-validation-schema.json"


def patched_zip(zip_path, work):
    """A copy of the standard's ZIP whose record-package schema refers to
    the versioned-release schema inline; and its schema folder, extracted."""
    out = os.path.join(work, "standard.zip")
    with zipfile.ZipFile(zip_path) as src:
        names = src.namelist()
        top = names[0].split("/")[0]
        schema_dir = f"{top}/schema/"
        versioned = json.loads(src.read(schema_dir + VERSIONED))
        base = "file://" + os.path.join(work, "schema") + "/"
        src.extractall(work)
        os.replace(os.path.join(work, schema_dir), os.path.join(work, "schema"))
        dereferenced = jsonref.replace_refs(versioned, base_uri=base + VERSIONED, lazy_load=False, proxies=False)
        with zipfile.ZipFile(out, "w") as dst:
            for name in names:
                data = src.read(name)
                if name == schema_dir + "record-package-schema.json":
                    schema = json.loads(data)
                    schema["definitions"]["record"]["properties"]["versionedRelease"] = {
                        k: v for k, v in dereferenced.items() if k not in ("id", "$schema")
                    }
                    data = json.dumps(schema).encode()
                dst.writestr(name, data)
    return out, os.path.join(work, "schema")


def main():
    command, zip_path, file = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as work:
        standard, schema = patched_zip(zip_path, work)
        if command == "validate":
            done = subprocess.run(
                [os.path.join(os.path.dirname(sys.executable), "libcoveocds"), "--standard-zip", standard, file],
                capture_output=True,
                text=True,
            )
            sys.stderr.write(done.stderr)
            sys.stdout.write(done.stdout)
            sys.exit(done.returncode)
        if command == "compile":
            with open(file) as f:
                package = json.load(f)
            releases = [r for record in package["records"] for r in record["releases"]]
            release_package = {k: v for k, v in package.items() if k not in ("records", "packages")}
            release_package["releases"] = releases
            done = subprocess.run(
                [
                    os.path.join(os.path.dirname(sys.executable), "ocdskit"),
                    "compile",
                    "--schema",
                    os.path.join(schema, "release-schema.json"),
                ],
                input=json.dumps(release_package),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                sys.exit(done.returncode)
            compiled = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
            print(json.dumps(compiled))
            return
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fixture_check.py PINMEMCTL SCHEMA FIXTURES WORK

Host test of pinmemctl pins/stats (make -C user check), against kernel files
recorded in the VMs (FIXTURES/*/: sys/kernel/debug/pinmem/*, proc/PID/...):

- PINMEMCTL is pinmemctl built with -DPINMEMCTL_TESTING, which reads its
  files under $PINMEMCTL_ROOT. Each fixture is copied to WORK/NAME, with
  dev/pinmem and the fds listed in its "fds" file made links (pinmem: to
  /dev/null, whose device number the fixture's /dev/pinmem then has).
- Every command of the fixture's expect.json runs; its exit status, stdout
  and stderr are checked, and --json output must be valid against SCHEMA
  (JSON Schema draft 2020-12, python3-jsonschema) and hold the "eq" values
  (paths like "pins.0.handle"). "same_pins_as": N checks that the pins equal
  those of run N but for what only one source has (age_ms, runs);
  "same_table_as": N the same for the table (but the AGE column).
- The schema must also reject broken variants of those outputs, so that a
  schema that accepts anything fails here.
"""
import copy
import json
import os
import shutil
import subprocess
import sys

import jsonschema

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def lookup(doc, path):
    for part in path.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)]
        else:
            doc = doc[part]
    return doc


def make_root(src, root):
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(src, root, symlinks=True)
    os.makedirs(os.path.join(root, "dev"), exist_ok=True)
    os.symlink("/dev/null", os.path.join(root, "dev", "pinmem"))
    fds = os.path.join(src, "fds")
    if not os.path.exists(fds):
        return
    for line in open(fds):
        if line.startswith("#") or not line.strip():
            continue
        pid, fd, target = line.split()
        d = os.path.join(root, "proc", pid, "fd")
        os.makedirs(d, exist_ok=True)
        os.symlink("/dev/null" if target == "pinmem" else target,
                   os.path.join(d, fd))


def table_rows(text):
    """{(ctx, pid, handle): columns but AGE} of a pins table."""
    rows = {}
    for line in text.splitlines():
        cols = line.split(None, 10)
        if len(cols) == 11 and cols[0].isdigit():
            rows[(cols[0], cols[1], cols[3])] = cols[:9] + cols[10:]
    return rows


def pins_for_compare(doc):
    out = []
    for p in doc["pins"]:
        p = dict(p)
        p.pop("age_ms")
        p.pop("runs", None)
        out.append(p)
    return out


# Broken variants of a valid output: each must be rejected.
def broken_pins(doc):
    yield "no source", {k: v for k, v in doc.items() if k != "source"}
    d = copy.deepcopy(doc)
    d["source"] = "sysfs"
    yield "unknown source", d
    if doc["pins"]:
        d = copy.deepcopy(doc)
        d["pins"][0]["start"] = 4096
        yield "start a number", d
        d = copy.deepcopy(doc)
        d["pins"][0]["start"] = "4096"
        yield "start not hex", d
        d = copy.deepcopy(doc)
        d["pins"][0]["pages"] = -1
        yield "negative pages", d
        d = copy.deepcopy(doc)
        d["pins"][0]["flags"] = "w"
        yield "bad flags", d
        d = copy.deepcopy(doc)
        del d["pins"][0]["handle"]
        yield "pin without handle", d
        d = copy.deepcopy(doc)
        d["pins"][0]["pfn"] = 1234
        yield "pin with an unknown field", d
        d = copy.deepcopy(doc)
        d["pins"][0]["zones"]["Movable"] = "4"
        yield "zone count a string", d
    if doc["source"] == "debugfs" and doc["pins"]:
        d = copy.deepcopy(doc)
        del d["pins"][0]["runs"]
        yield "debugfs pin without runs", d
        d = copy.deepcopy(doc)
        d["contexts"] = []
        yield "debugfs with contexts", d
    if doc["source"] == "fdinfo":
        d = copy.deepcopy(doc)
        del d["contexts"]
        yield "fdinfo without contexts", d
        if doc["contexts"]:
            d = copy.deepcopy(doc)
            del d["contexts"][0]["user_locked_pages"]
            yield "context without user_locked_pages", d


def broken_stats(doc):
    yield "no source", {k: v for k, v in doc.items() if k != "source"}
    d = copy.deepcopy(doc)
    d["source"] = "fdinfo"
    yield "stats from fdinfo", d
    d = copy.deepcopy(doc)
    d["calls"]["PIN"] = -1
    yield "negative calls", d
    d = copy.deepcopy(doc)
    d["failures"]["PIN"] = {"enomem": 1}
    yield "errno name in lower case", d
    d = copy.deepcopy(doc)
    d["cma"] = []
    yield "cma an array", d
    d = copy.deepcopy(doc)
    d["pins"] = []
    yield "pins an array", d
    if isinstance(doc.get("cma"), dict):
        d = copy.deepcopy(doc)
        d["cma"]["dma_cma_configured"] = "no"
        yield "dma_cma_configured a string", d
        if doc["cma"]["buffers"]:
            d = copy.deepcopy(doc)
            d["cma"]["buffers"][0]["phys"] = 1
            yield "phys a number", d


def main():
    ctl, schema_path, fixtures, work = sys.argv[1:5]
    schema = json.load(open(schema_path))
    validator_cls = jsonschema.Draft202012Validator
    validator_cls.check_schema(schema)
    v = validator_cls(schema)
    checked = 0
    for name in sorted(os.listdir(fixtures)):
        src = os.path.join(fixtures, name)
        if not os.path.isdir(src):
            continue
        root = os.path.join(work, name)
        make_root(src, root)
        expect = json.load(open(os.path.join(src, "expect.json")))
        env = dict(os.environ, PINMEMCTL_ROOT=root, LC_ALL="C")
        results = []
        for i, run in enumerate(expect["runs"]):
            what = "%s: pinmemctl %s" % (name, " ".join(run["args"]))
            p = subprocess.run([ctl] + run["args"], env=env,
                               capture_output=True, text=True)
            results.append(p)
            checked += 1
            if p.returncode != run.get("rc", 0):
                fail("%s: exit %d, expected %d\n%s%s" % (what, p.returncode,
                     run.get("rc", 0), p.stdout, p.stderr))
                continue
            for key, stream in (("stdout", p.stdout), ("stderr", p.stderr)):
                if key in run and run[key] not in stream:
                    fail("%s: %r not in its %s:\n%s" % (what, run[key], key,
                                                        stream))
            if "same_table_as" in run:
                a = table_rows(results[run["same_table_as"]].stdout)
                b = table_rows(p.stdout)
                if not a or a != b:
                    fail("%s: the table differs from run %d's:\n%s\n%s" %
                         (what, run["same_table_as"], a, b))
            if "--json" not in run["args"] or p.returncode:
                continue
            try:
                doc = json.loads(p.stdout)
            except ValueError as e:
                fail("%s: not JSON (%s): %s" % (what, e, p.stdout))
                continue
            errors = sorted(v.iter_errors(doc), key=str)
            for e in errors:
                fail("%s: schema: %s at %s" % (what, e.message,
                                               "/".join(map(str, e.path))))
            if errors:
                continue
            for path, want in run.get("eq", {}).items():
                try:
                    got = lookup(doc, path)
                except (KeyError, IndexError):
                    fail("%s: no %s" % (what, path))
                    continue
                if got != want or type(got) is not type(want):
                    fail("%s: %s is %r, expected %r" % (what, path, got, want))
            if "same_pins_as" in run:
                a = json.loads(results[run["same_pins_as"]].stdout)
                if pins_for_compare(a) != pins_for_compare(doc):
                    fail("%s: pins differ from run %d's:\n%s\n%s" %
                         (what, run["same_pins_as"], a["pins"], doc["pins"]))
            broken = broken_pins(doc) if "pins" in run["args"] else \
                broken_stats(doc)
            for why, bad in broken:
                checked += 1
                if v.is_valid(bad):
                    fail("%s: the schema accepts a broken variant (%s)" %
                         (what, why))
    print("%d checks, %d failed" % (checked, failures))
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())

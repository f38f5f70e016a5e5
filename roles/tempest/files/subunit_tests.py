#!/usr/bin/python3
# Part of the aptstack.openstack collection, role tempest.
"""Print the tests of a subunit stream (Tempest's results) as a JSON list, and write JUnit XML.

    subunit_tests.py STREAM JUNIT_XML

Each test: id, status (success, fail, skip, xfail, uxsuccess), reason (the skip reason, or the
traceback of a failure) and duration_s. Runs on the controller with the python3-subunit and
python3-testtools that the tempest package pulls in; the verdict is the tempest_report filter's.
The JUnit XML is written here, with the standard library: subunit2junitxml needs python-junitxml,
which the tempest packages do not pull in.
"""

import json
import re
import sys
import xml.etree.ElementTree as ET

DETAIL_KEYS = ("reason", "traceback")
# The end of a long traceback is what names the failure; the file keeps it all.
MAX_REASON = 4000
V2_SIGNATURE = b"\xb3"


def _text(details):
    for key in DETAIL_KEYS:
        if key in details:
            return details[key].as_text()[-MAX_REASON:]
    return ""


def junit_xml(tests):
    """One testcase per test: classname and name from the id (without Tempest's [attributes])."""
    failed = [t for t in tests if t["status"] in ("fail", "uxsuccess")]
    skipped = [t for t in tests if t["status"] == "skip"]
    total = sum(t["duration_s"] or 0 for t in tests)
    suite = ET.Element(
        "testsuite",
        name="tempest",
        tests=str(len(tests)),
        failures=str(len(failed)),
        errors="0",
        skipped=str(len(skipped)),
        time=f"{total:.3f}",
    )
    for test in tests:
        name = re.sub(r"\[[^\]]*\]$", "", test["id"])
        classname, _, method = name.rpartition(".")
        if name.startswith(("setUpClass (", "tearDownClass (")):
            classname, method = name.split(" (", 1)[1].rstrip(")"), name.split(" ", 1)[0]
        case = ET.SubElement(suite, "testcase", classname=classname, name=method, time=f"{test['duration_s'] or 0:.3f}")
        first = (test["reason"].strip().splitlines() or [""])[-1][:500]
        if test in failed:
            ET.SubElement(case, "failure", message=first).text = test["reason"]
        elif test in skipped:
            ET.SubElement(case, "skipped", message=first)
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True) + b"\n"


def main(path, junit_path):
    # Imported here: the JUnit writer above needs only the standard library (and is unit tested
    # where python3-subunit is not installed).
    import subunit
    import testtools

    tests = []

    def on_test(test):
        if test["status"] in ("exists", "inprogress", "unknown"):
            return
        started, stopped = test["timestamps"]
        tests.append(
            {
                "id": test["id"],
                "status": test["status"],
                "reason": _text(test["details"]),
                "duration_s": round((stopped - started).total_seconds(), 2) if started and stopped else None,
            }
        )

    with open(path, "rb") as stream:
        # stestr's repository keeps version 1 (text) streams; version 2 starts with its signature byte.
        v2 = stream.peek(1)[:1] in (V2_SIGNATURE, b"")
        result = testtools.StreamToDict(on_test)
        if v2:
            case = subunit.ByteStreamToStreamResult(stream, non_subunit_name="stdout")
        else:
            case = subunit.ProtocolTestCase(stream)
            result = testtools.ExtendedToStreamDecorator(result)
        result.startTestRun()
        try:
            case.run(result)
        finally:
            result.stopTestRun()
    with open(junit_path, "wb") as out:
        out.write(junit_xml(tests))
    json.dump(tests, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

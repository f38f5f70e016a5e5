#!/usr/bin/python3
# Part of the aptstack.openstack collection, role tempest.
"""Print the tests of a subunit v2 stream (Tempest's results) as a JSON list.

    subunit_tests.py STREAM

Each test: id, status (success, fail, skip, xfail, uxsuccess), reason (the skip reason, or the
traceback of a failure) and duration_s. Runs on the controller with the python3-subunit and
python3-testtools that the tempest package pulls in; the verdict is the tempest_report filter's.
"""

import json
import sys

import subunit
import testtools

DETAIL_KEYS = ("reason", "traceback")
# The end of a long traceback is what names the failure; the file keeps it all.
MAX_REASON = 4000
V2_SIGNATURE = b"\xb3"


def _text(details):
    for key in DETAIL_KEYS:
        if key in details:
            return details[key].as_text()[-MAX_REASON:]
    return ""


def main(path):
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
    json.dump(tests, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

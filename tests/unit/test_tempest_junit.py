"""The JUnit XML of a Tempest run (roles/tempest/files/subunit_tests.py, run on the controller)."""

import xml.etree.ElementTree as ET

from .source_files import load_source

st = load_source("roles/tempest/files/subunit_tests.py")

A = "tempest.api.compute.test_a.ATest"
TESTS = [
    {"id": f"{A}.test_one[id-1,smoke]", "status": "success", "reason": "", "duration_s": 1.5},
    {"id": f"{A}.test_two[id-2]", "status": "fail", "reason": "Traceback\nBoom: 500", "duration_s": 2},
    {"id": "setUpClass (tempest.api.volume.test_v.VTest)", "status": "skip", "reason": "Cinder is not available"},
]


def test_each_test_is_a_case_with_its_class_failure_and_skip_reason():
    for test in TESTS:
        test.setdefault("duration_s", None)
    suite = ET.fromstring(st.junit_xml(TESTS))
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        (A, "test_one"),
        (A, "test_two"),
        ("tempest.api.volume.test_v.VTest", "setUpClass"),
    ]
    assert cases[1].find("failure").get("message") == "Boom: 500"
    assert cases[2].find("skipped").get("message") == "Cinder is not available"
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None

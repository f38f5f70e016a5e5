"""JUnit XML of a check: one test case per check of each server, failures where they belong."""

import json
import xml.etree.ElementTree as ET

from aptstack import cli, junit


def server(host, failures=()):
    return {
        "inventory_host": host,
        "failures": list(failures),
        "timings": {"first_ping_s": 20.5, "floating_ping_s": 22.0},
    }


def cases_of(xml_bytes):
    suite = ET.fromstring(xml_bytes).find("testsuite")
    return suite, {
        (case.get("classname"), case.get("name")): (
            case.find("failure").get("message") if case.find("failure") is not None else None,
            case.find("skipped") is not None,
        )
        for case in suite.findall("testcase")
    }


def test_each_server_check_is_a_case_and_a_failure_lands_on_its_check(tmp_path):
    result = {
        "result": "failed",
        "servers": [server("c1"), server("c2", ["floating-address ping: no answer after 120 s"])],
        "failures": ["c2: floating-address ping: no answer after 120 s"],
        "cleanup": {"kept": False, "left": []},
    }
    path = tmp_path / "junit.xml"
    junit.write(path, junit.verify_cases(result))
    suite, cases = cases_of(path.read_bytes())
    assert suite.get("tests") == "9"
    assert suite.get("failures") == "1"
    assert cases[("verify.c2", "floating-address ping")] == ("floating-address ping: no answer after 120 s", False)
    assert cases[("verify.c1", "floating-address ping")] == (None, False)
    assert cases[("verify", "cleanup")] == (None, False)
    assert ("verify", "boot check") not in cases


def test_a_check_that_failed_before_any_server_is_one_failed_case():
    result = {"result": "failed", "failures": ["host ghost unreachable: refused"]}
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(result)))
    assert cases == {("verify", "boot check"): ("host ghost unreachable: refused", False)}


def test_cleanup_left_and_kept():
    left = {
        "result": "failed",
        "servers": [server("c1")],
        "failures": ["cleanup: 1 left"],
        "cleanup": {"left": [{"name": "r"}]},
    }
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(left)))
    assert cases[("verify", "cleanup")] == ("cleanup: 1 left; left: r", False)
    kept = {"result": "passed", "servers": [server("c1")], "failures": [], "cleanup": {"kept": True}}
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(kept)))
    assert cases[("verify", "cleanup")] == (None, True)


def test_up_with_a_failed_deploy_skips_the_check():
    _suite, cases = cases_of(junit.to_xml(junit.up_cases({"lab": 4.0, "deploy": 80.0}, ["h: mysql : Install: x"], {})))
    assert cases == {("up", "deploy"): ("h: mysql : Install: x", False), ("verify", "boot check"): (None, True)}


def test_up_summary_is_a_json_object():
    class FakeLab:
        name, topology, release = "inp", "aio", "resolute"

    summary = cli.up_summary(FakeLab(), "/inv.yml", {"lab": 4.04, "deploy": 300.0}, {"nova": 12.34}, {}, 1, {"h": 2})
    assert json.loads(json.dumps(summary)) == {
        "lab": {"name": "inp", "topology": "aio", "release": "resolute"},
        "inventory": "/inv.yml",
        "timings_s": {"lab": 4.0, "deploy": 300.0},
        "deploy_roles_s": {"nova": 12.3},
        "check": None,
        "memory_bytes": {"h": 2},
        "result": "failed",
    }


def test_the_heat_check_is_its_own_case_and_takes_its_failures():
    message = "Heat check - create the stack v-heat: CREATE_FAILED: timed out"
    result = {
        "result": "failed",
        "servers": [server("c1")],
        "failures": [message],
        "cleanup": {"kept": False, "left": []},
        "heat": {"stack": "v-heat", "status": None, "create_s": None},
    }
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(result)))
    assert cases[("verify", "heat stack")] == (message, False)
    assert ("verify", "boot check") not in cases
    passed = {**result, "result": "passed", "failures": [], "heat": {"create_s": 39.0}}
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(passed)))
    assert cases[("verify", "heat stack")] == (None, False)
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases({**passed, "heat": None})))
    assert ("verify", "heat stack") not in cases


def test_the_horizon_check_is_its_own_case_and_takes_its_failures():
    message = "Horizon check - log in, open the instances page and find the check's servers: not listed"
    result = {
        "result": "failed",
        "servers": [server("c1")],
        "failures": [message],
        "cleanup": {"kept": False, "left": []},
        "horizon": {"passed": False, "total_s": 9.5},
    }
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(result)))
    assert cases[("verify", "horizon dashboard")] == (message, False)
    assert ("verify", "boot check") not in cases
    passed = {**result, "result": "passed", "failures": [], "horizon": {"passed": True, "total_s": 9.5}}
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(passed)))
    assert cases[("verify", "horizon dashboard")] == (None, False)
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases({**passed, "horizon": None})))
    assert ("verify", "horizon dashboard") not in cases


def test_the_volume_check_is_two_cases_and_takes_its_failures():
    message = (
        "Cinder check - attach ...: Volume check: attach: the guest reported no new disk (no volume-attached marker)"
    )
    result = {
        "result": "failed",
        "servers": [server("c1")],
        "failures": [message],
        "cleanup": {"kept": False, "left": []},
        "cinder": {
            "passed": False,
            "attach": {"timings": {"create_s": 2.9, "attach_s": 10.2}},
            "boot_from_volume": None,
        },
    }
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(result)))
    assert cases[("verify", "cinder volume attach")] == (message, False)
    assert cases[("verify", "cinder boot from volume")] == (None, True)
    assert ("verify", "boot check") not in cases
    timings = {"create_s": 2.9, "attach_s": 10.2, "guest_s": 16.1, "detach_s": 3.8, "delete_s": 1.2}
    bfv_failed = {
        **result,
        "cinder": {"attach": {"timings": timings}, "boot_from_volume": {"timings": {"active_s": 24.8}}},
    }
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(bfv_failed)))
    assert cases[("verify", "cinder volume attach")] == (None, False)
    assert cases[("verify", "cinder boot from volume")] == (message, False)
    passed = {
        **bfv_failed,
        "result": "passed",
        "failures": [],
        "cinder": {
            "attach": {"timings": timings},
            "boot_from_volume": {"timings": {"active_s": 24.8, "delete_s": 5.0}},
        },
    }
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases(passed)))
    assert cases[("verify", "cinder boot from volume")] == (None, False)
    _suite, cases = cases_of(junit.to_xml(junit.verify_cases({**passed, "cinder": None})))
    assert ("verify", "cinder volume attach") not in cases

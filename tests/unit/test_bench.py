"""The benchmark's arithmetic: targets met or missed, the table, the PLAY RECAP's changed counts."""

import pytest

from aptstack.runner import recap_changed

from .source_files import load_source

bench = load_source("bench/run.py")

RECAP = """
PLAY [controller] ***
TASK [x] ***
ok: [lab-aio]

PLAY RECAP *********************************************************************
lab-ctl                    : ok=310  changed=0    unreachable=0    failed=0    skipped=120  rescued=0    ignored=0
lab-cmp1                   : ok=120  changed=3    unreachable=0    failed=0    skipped=40   rescued=0    ignored=0
localhost                  : ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
"""


def test_recap_changed_reads_each_hosts_count():
    assert recap_changed(RECAP) == {"lab-ctl": 0, "lab-cmp1": 3, "localhost": 0}


def test_recap_changed_without_a_recap_is_empty():
    assert recap_changed("ERROR! the playbook could not be parsed") == {}


UP_SUMMARY = {
    "timings_s": {"lab": 4.0, "deploy": 250.2, "verify": 60.0},
    "deploy_roles_s": {"common": 120.4, "nova_controller": 30.2, "keystone": 12.0},
    "check": {"servers": [{"timings": {"first_ping_s": 16.3, "active_s": 9.1}}]},
    "memory_bytes": {"bench-aio": 2 * 2**30, "bench-stopped": None},
    "result": "passed",
}


def test_up_figures_keep_the_steps_roles_first_pings_and_memory():
    up = bench.up_figures(UP_SUMMARY, 314.44)
    assert up["wall_s"] == 314.4
    assert up["steps_s"]["deploy"] == 250.2
    assert up["first_ping_s"] == [16.3]
    assert up["memory_gib"] == {"bench-aio": 2.0, "bench-stopped": None}


def figures(**overrides):
    base = {
        "cold": {"wall_s": 470.0},
        "warm": bench.up_figures(UP_SUMMARY, 314.4),
        "rerun": {"wall_s": 45.0, "changed": {"bench-aio": 0}},
        "ping": {"median_first_ping_s": 16.1, "runs": []},
        "memory": {"total_gib": 1.98, "pss_gib": {"bench-aio": 1.98}},
        "restore": {
            "snapshot_s": 95.0,
            "snapshot_disk_gib": 1.7,
            "restores": [
                {
                    "restore_s": 40.0,
                    "verify_s": 21.0,
                    "restore_to_verify_s": 61.0,
                    "first_ping_s": 15.2,
                    "restored_lab_disk_gib": 0.1,
                },
            ],
            "restore_s": 40.0,
            "restore_to_verify_s": 61.0,
        },
    }
    base.update(overrides)
    return base


def test_verdicts_compare_each_figure_with_its_target():
    verdict = bench.verdicts(figures())
    assert verdict["make_aio_s"] == {"measured": 470.0, "target": 480, "met": True}
    assert verdict["warm_deploy_s"]["met"] is False
    assert verdict["rerun_s"]["met"] is True  # equal to the target is met
    assert verdict["create_to_ping_s"]["met"] is False
    assert verdict["aio_memory_gib"]["met"] is True
    assert verdict["restore_s"] == {"measured": 40.0, "target": 20, "met": False}


def test_a_step_that_did_not_run_or_failed_has_no_verdict():
    verdict = bench.verdicts(figures(cold={"failed": "aptstack up exited 1"}, ping={}))
    assert verdict["make_aio_s"]["met"] is None
    assert verdict["create_to_ping_s"] == {"measured": None, "target": 15, "met": None}


def test_the_table_names_every_target_and_a_failed_step():
    results = {
        "machine": {"cpus": 2, "memory_gib": 23.4, "kernel": "6.1"},
        "release": "resolute",
        "started": "2026-12-03T10:00:00+00:00",
        "figures": figures(cold={"failed": "aptstack up exited 1"}),
    }
    table = bench.markdown(results)
    for label in bench.TARGET_LABELS.values():
        assert label in table
    assert "| cold | FAILED: aptstack up exited 1 |" in table
    assert "| aio re-run, changed=0 (s) | 45.0 | ≤ 45 | yes |" in table
    assert "not run" in table
    assert "slowest roles: common 120.4 s, nova_controller 30.2 s, keystone 12.0 s" in table


@pytest.mark.parametrize("steps", ["warm,nonsense", "ping,,bogus"])
def test_unknown_steps_are_refused(steps, capsys):
    with pytest.raises(SystemExit) as exited:
        bench.main(["--steps", steps])
    assert exited.value.code == 2
    assert "unknown steps" in capsys.readouterr().err

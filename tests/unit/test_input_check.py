"""Bad inputs are refused before any host is contacted: by the first play of site.yml and verify.yml
under plain ansible-playbook, and by the aptstack command with one line and exit status 2.

The inventories' hosts point at a closed port on the loopback address: a host that was contacted
would show up as UNREACHABLE (and in the play recap) at once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from aptstack import cli, lab, runner
from aptstack.errors import UsageError

from .source_files import ROOT, load_source

COLLECTIONS = ROOT / ".venv" / "share" / "aptstack" / "collections"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
input_check = load_source("plugins/module_utils/input_check.py")

GHOST = {"ansible_host": "127.0.0.1", "ansible_port": 1}


def inventory(controllers=("c1",), computes=("c1",), extra_hosts=(), host_vars=None, all_vars=None):
    host_vars = host_vars or {}

    def hosts(names):
        return {name: {**GHOST, **host_vars.get(name, {})} for name in names}

    data = {"all": {"vars": all_vars or {}, "children": {}}}
    if controllers:
        data["all"]["children"]["controller"] = {"hosts": hosts(controllers)}
    if computes:
        data["all"]["children"]["compute"] = {"hosts": hosts(computes)}
    if extra_hosts:
        data["all"]["hosts"] = hosts(extra_hosts)
    return yaml.safe_dump(data)


BAD_INPUTS = {
    "empty inventory": ("", [], "has no hosts"),
    "malformed inventory": ("all:\n  children: [\n", [], "has no hosts"),
    "hosts in no group": (
        "all:\n  hosts:\n    h1: {ansible_host: 127.0.0.1, ansible_port: 1}\n",
        [],
        "no host in group",
    ),
    "no controller": (inventory(controllers=()), [], "no host in group controller"),
    "two controllers": (inventory(controllers=("c1", "c2")), [], "group controller has 2 hosts (c1, c2)"),
    "no compute": (inventory(computes=()), [], "no host in group compute"),
    "stray host": (inventory(extra_hosts=("x1",)), [], "host x1 in neither group controller nor compute"),
    "one machine, two names": (
        inventory(controllers=("c1",), computes=("c2",)),
        [],
        "hosts c1, c2 are one machine (address 127.0.0.1)",
    ),
    "controller host is not the controller": (
        inventory(all_vars={"aptstack_controller_host": "c9"}),
        [],
        "aptstack_controller_host is c9, which is not in group controller",
    ),
    "unknown override": (
        inventory(),
        ['{"nova_nova_conf_overrides": {"libvirt": {"cpu_mode": "none"}}}'],
        "unknown variable nova_nova_conf_overrides (extra variable), did you mean nova_compute_nova_conf_overrides"
        " or nova_controller_nova_conf_overrides",
    ),
    "unknown shared setting in the inventory": (
        inventory(host_vars={"c1": {"aptstack_api_wrokers": 2}}),
        [],
        "unknown variable aptstack_api_wrokers (inventory variable of c1), did you mean aptstack_api_workers or",
    ),
    "string where a dict belongs": (
        inventory(),
        ["glance_glance_api_conf_overrides=debug"],
        "glance_glance_api_conf_overrides must be a dict, got a str",
    ),
    "wrong type of a declared role variable": (
        inventory(all_vars={"nova_controller_api_workers": "many"}),
        [],
        "nova_controller_api_workers must be an int, got a str (inventory variable of c1)",
    ),
    "unknown optional service": (
        inventory(),
        ['{"aptstack_services": ["heat", "swift"]}'],
        "aptstack_services: unknown swift (choose from cinder, heat, horizon)",
    ),
    "bcrypt cost out of range": (
        inventory(),
        ["keystone_password_hash_rounds=2"],
        "keystone_password_hash_rounds must be an integer from 4 to 31 (extra variable)",
    ),
    "list of the wrong elements": (
        inventory(),
        ['{"aptstack_apt_pockets": [["-updates"]]}'],
        "aptstack_apt_pockets must be a list of str",
    ),
}


def run_playbook(tmp_path, inventory_text, extra_vars, playbook):
    path = tmp_path / "inventory.yml"
    path.write_text(inventory_text)
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(path), f"aptstack.openstack.{playbook}"]
    for item in extra_vars:
        argv += ["-e", item]
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_FORCE_COLOR": "0",
    }
    return subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


# Every case through site.yml; verify.yml imports the same play, so a few cases show it is there
# (without a controller group verify.yml used to end in a Jinja error).
PLAIN_CASES = (
    [(case, "site") for case in sorted(BAD_INPUTS)]
    + [(case, "verify") for case in ("empty inventory", "no controller", "unknown override")]
    + [(case, "diagnose") for case in ("empty inventory", "hosts in no group", "two controllers")]
)


@pytest.mark.parametrize(("case", "playbook"), PLAIN_CASES)
def test_plain_ansible_playbook_refuses_on_localhost_first(tmp_path, case, playbook):
    inventory_text, extra_vars, message = BAD_INPUTS[case]
    done = run_playbook(tmp_path, inventory_text, extra_vars, playbook)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    fatal = [line for line in output.splitlines() if line.startswith("fatal:")]
    assert len(fatal) == 1, output
    assert fatal[0].startswith("fatal: [localhost]: FAILED!")
    assert message in fatal[0]
    # No other host was contacted: only localhost ran anything.
    assert "UNREACHABLE" not in output
    recap = output.split("PLAY RECAP", 1)[1].strip().splitlines()[1:]
    assert [line.split()[0] for line in recap if " ok=" in line] == ["localhost"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yml"]


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_driver_gives_one_line_and_status_2(tmp_path, case, capfd):
    inventory_text, extra_vars, message = BAD_INPUTS[case]
    path = tmp_path / "inventory.yml"
    path.write_text(inventory_text)
    argv = ["deploy", "-i", str(path)]
    for item in extra_vars:
        argv += ["-e", item]
    assert cli.main(argv) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert err.startswith("aptstack: error: ")
    assert len(err.strip().splitlines()) == 1, err
    if case == "malformed inventory":
        message = "could not be parsed: YAML parsing failed"
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yml"]


def test_driver_refuses_bad_extra_vars_before_making_a_lab(monkeypatch, capfd):
    def no_lab(*_args, **_kwargs):
        raise AssertionError("a lab was made for bad input")

    monkeypatch.setattr(lab, "up", no_lab)
    assert cli.main(["up", "--name", "inp", "-e", "aptstack_debug=maybe"]) == 2
    err = capfd.readouterr().err
    assert err.strip() == "aptstack: error: aptstack_debug must be a bool, got a str (extra variable)"


def test_diagnose_checks_the_inventory_but_not_the_variables(tmp_path):
    inventory_text, extra_vars, _message = BAD_INPUTS["unknown override"]
    done = run_playbook(tmp_path, inventory_text, [*extra_vars, f"diagnose_dir={tmp_path / 'report'}"], "diagnose")
    assert "ok: [localhost]" in done.stdout
    assert "aptstack input check" not in done.stdout + done.stderr


@pytest.mark.parametrize("topology", lab.TOPOLOGIES)
def test_lab_inventories_and_example_inventories_pass(tmp_path, monkeypatch, topology):
    monkeypatch.setenv("APTSTACK_STATE_DIR", str(tmp_path / "state"))
    the_lab = lab.Lab("inp", topology, "resolute", 2, 7, "10.213.93.0/24", "10.213.94.0/24")
    the_lab.nodes = lab.plan_nodes("inp", topology, 2, the_lab.subnet, the_lab.tunnel_subnet)
    example = ROOT / "inventories" / topology / "hosts.yml"
    for text in (yaml.safe_dump(lab.render_inventory(the_lab)), example.read_text()):
        done = run_playbook(
            tmp_path, text, ['{"nova_compute_qemu_conf_overrides": {"max_files": 32768}}'], "check_inputs"
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_an_int_given_as_name_value_is_compared_with_its_choices_as_an_int(tmp_path):
    done = run_playbook(tmp_path, inventory(), ["keystone_password_hash_rounds=5"], "check_inputs")
    assert done.returncode == 0, done.stdout + done.stderr


def test_driver_check_on_the_example_inventory_takes_a_cost_in_range_and_refuses_one_outside():
    example = str(ROOT / "inventories" / "aio" / "hosts.yml")
    runner.check_inputs(example, ["keystone_password_hash_rounds=5"])
    with pytest.raises(UsageError) as refused:
        runner.check_inputs(example, ["keystone_password_hash_rounds=2"])
    assert str(refused.value) == "keystone_password_hash_rounds must be an integer from 4 to 31 (extra variable)"


def test_a_templated_value_is_checked_once_templated(tmp_path):
    text = inventory(all_vars={"workers": 3, "aptstack_api_workers": "{{ workers }}"})
    assert run_playbook(tmp_path, text, [], "check_inputs").returncode == 0
    text = inventory(all_vars={"workers": [3], "aptstack_api_workers": "{{ workers }}"})
    done = run_playbook(tmp_path, text, [], "check_inputs")
    assert "aptstack_api_workers must be an int, got a list" in done.stdout


# ---- the logic on its own

SPECS = input_check.load_specs(ROOT / "roles")


def test_every_override_and_shared_setting_comes_from_the_argument_specs():
    assert SPECS["nova_controller_nova_conf_overrides"]["type"] == "dict"
    assert SPECS["aptstack_api_workers"]["role"] == "aptstack"
    # Entry points other than main count too.
    assert "verify_result_file" in SPECS


@pytest.mark.parametrize(
    ("value", "kind", "ok"),
    [
        ({}, "dict", True),
        ("a=b", "dict", False),
        (["a"], "list", True),
        ("a,b", "list", False),
        ("3", "int", True),
        (True, "int", False),
        ("yes", "bool", True),
        ("maybe", "bool", False),
        (3, "str", False),
        ("x", "raw", True),
    ],
)
def test_type_problem(value, kind, ok):
    assert (input_check.type_problem("v", value, {"type": kind}) is None) is ok


def test_values_are_never_printed():
    problem = input_check.type_problem("x_password", "s3cret-value", {"type": "int", "no_log": True})
    assert "s3cret" not in problem
    problem = input_check.type_problem("x_password", "s3cret-value", {"type": "str", "choices": ["a", "b"]})
    assert problem == "x_password must be one of a, b"


HASH_ROUNDS = "keystone_password_hash_rounds"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("5", None),
        (5, None),
        ("4", None),
        ("31", None),
        ("2", "must be an integer from 4 to 31"),
        (2, "must be an integer from 4 to 31"),
        ("32", "must be an integer from 4 to 31"),
        ("x", "must be an int, got a str"),
        (True, "must be an int, got a bool"),
    ],
)
def test_hash_rounds_is_converted_to_an_int_before_its_choices(value, problem):
    found = input_check.type_problem(HASH_ROUNDS, value, SPECS[HASH_ROUNDS])
    assert found == (f"{HASH_ROUNDS} {problem}" if problem else None)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("5", True), (5, True), ("4", True), ("31", True), ("2", False), (2, False), ("32", False), ("x", False)],
)
def test_ansibles_own_argument_validation_agrees_on_hash_rounds(value, accepted):
    """The role's argument validation (ArgumentSpecValidator, converting before comparing choices)
    and the input check accept and refuse the same values."""
    option = {key: val for key, val in SPECS[HASH_ROUNDS].items() if key in ("type", "choices")}
    result = ArgumentSpecValidator({HASH_ROUNDS: option}).validate({HASH_ROUNDS: value})
    assert (not result.error_messages) is accepted
    assert (input_check.type_problem(HASH_ROUNDS, value, SPECS[HASH_ROUNDS]) is None) is accepted
    if accepted:
        assert result.validated_parameters[HASH_ROUNDS] == int(value)


@pytest.mark.parametrize(
    ("value", "ok"), [("yes", True), ("true", True), (True, True), ("on", True), ("no", False), (False, False)]
)
def test_a_bool_is_converted_before_its_choices(value, ok):
    problem = input_check.type_problem("v", value, {"type": "bool", "choices": [True]})
    assert problem == (None if ok else "v must be one of True")


def test_list_items_are_converted_to_their_elements_type_before_the_choices():
    option = {"type": "list", "elements": "int", "choices": [1, 2, 3]}
    assert input_check.type_problem("v", ["1", 2], option) is None
    assert input_check.type_problem("v", ["1", "4"], option) == "v: unknown 4 (choose from 1, 2, 3)"


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([4, 5, 6, 7], "v must be an integer from 4 to 7"),
        ([7, 6, 5, 4], "v must be an integer from 4 to 7"),
        ([1, 2, 3], "v must be one of 1, 2, 3"),
        ([4, 5, 7, 8], "v must be one of 4, 5, 7, 8"),
        ([1, 2, 3, "x"], "v must be one of 1, 2, 3, x"),
    ],
)
def test_only_a_run_of_at_least_four_consecutive_integers_reads_as_a_range(choices, message):
    assert input_check.type_problem("v", 99, {"type": "raw", "choices": choices}) == message


def test_names_outside_the_checked_patterns_are_free():
    given = {"my_own_thing": ("extra variable", 1), "ansible_user": ("inventory variable of h", "root")}
    assert input_check.variable_problems(given, SPECS) == []


def test_an_aio_host_in_both_groups_is_fine():
    groups = {"all": ["a"], "controller": ["a"], "compute": ["a"], "ungrouped": []}
    assert input_check.inventory_problems(groups, {"a": "10.0.0.1"}) == []


def test_hosts_without_an_address_are_told_apart_by_name():
    groups = {"all": ["a", "b"], "controller": ["a"], "compute": ["b"]}
    assert input_check.inventory_problems(groups, {"a": None, "b": None}) == []


def test_failure_record_unreachable_cause_is_one_line():
    record = {"failures": [{"host": "ghost", "kind": "unreachable", "task": "Gathering Facts", "message": "refused"}]}
    assert cli.failure_causes(record) == ["host ghost unreachable: refused"]
    assert json.loads(json.dumps(cli.verify_result({}, 4, record)))["failures"] == ["host ghost unreachable: refused"]

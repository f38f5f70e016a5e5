# Copyright: aptstack developers
# Apache License 2.0
"""Check the inventory and the given variables on the Ansible side, before any host is contacted."""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import load_extra_vars
from ansible_collections.aptstack.openstack.plugins.module_utils.input_check import (
    CHECKED_NAME,
    CONTROLLER,
    UNKNOWN,
    inventory_problems,
    load_specs,
    variable_problems,
)

# The collection's roles, beside plugins/ both in a checkout and in an installed collection.
ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("inventory", "variables"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = {"inventory": True, "variables": True, **self._task.args}
        hostvars, groups = task_vars["hostvars"], task_vars["groups"]
        problems = []
        given = self._given_variables(task_vars, hostvars, groups.get("all", []))
        if args["inventory"]:
            problems += inventory_problems(
                groups,
                {host: self._value(hostvars, host, "ansible_host") for host in groups.get("all", [])},
                task_vars.get("ansible_inventory_sources") or (),
            )
            controller_host = given.get("aptstack_controller_host", (None, None))[1]
            if controller_host and controller_host not in groups.get(CONTROLLER, []):
                problems.append(f"aptstack_controller_host is {controller_host}, which is not in group controller")
        if args["variables"]:
            problems += variable_problems(given, load_specs(ROLES_DIR))
        result["changed"] = False
        if problems:
            result["failed"] = True
            result["msg"] = "aptstack input check: " + "; ".join(problems)
        else:
            result["msg"] = "inputs are consistent"
        return result

    def _given_variables(self, task_vars, hostvars, hosts) -> dict:
        """name -> (where, templated value) for every variable a user gave: extra variables, then the
        inventory's host and group variables of each host (a group variable is reported once)."""
        declared = load_specs(ROLES_DIR)
        given = {}
        for name in load_extra_vars(self._loader):
            if CHECKED_NAME.match(name) or name in declared:
                given[name] = ("extra variable", self._template(task_vars.get(name)))
        for host in hosts:
            raw = hostvars.raw_get(host)
            for name in raw:
                if name not in given and (CHECKED_NAME.match(name) or name in declared):
                    given[name] = (f"inventory variable of {host}", self._value(hostvars, host, name))
        return given

    def _template(self, value):
        try:
            return self._templar.template(value)
        except AnsibleError:
            return UNKNOWN

    @staticmethod
    def _value(hostvars, host, name):
        """The host's templated value; UNKNOWN when it cannot be templated here (e.g. it needs facts)."""
        try:
            return hostvars[host].get(name)
        except AnsibleError:
            return UNKNOWN

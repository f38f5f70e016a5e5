#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.

DOCUMENTATION = r"""
---
module: service_registration
short_description: Register an OpenStack service in keystone in one call
author: aptstack developers (!UNKNOWN)
description:
  - Ensures a catalog service, one endpoint per interface in a region, a service user and its role
    in the service project, all through one openstacksdk connection.
  - Replaces four C(openstack.cloud) module calls per service (catalog_service, endpoint per interface,
    identity_user, role_assignment) during a deploy; each of those authenticates on its own.
  - Endpoints with a wrong URL are corrected, duplicates of an interface in the region are removed.
  - A user's password is only set when the user is created.
options:
  name:
    description: Service name.
    type: str
    required: true
  service_type:
    description: Service type, for example C(image).
    type: str
    required: true
  description:
    description: Service description.
    type: str
  url:
    description: Endpoint URL, the same for every interface.
    type: str
    required: true
  interfaces:
    description: Endpoint interfaces.
    type: list
    elements: str
    default: [public, internal, admin]
  region:
    description: Region of the endpoints.
    type: str
    default: RegionOne
  user:
    description: Service user; omit to register no user.
    type: dict
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      password:
        description: Password, set only when the user is created.
        type: str
        required: true
      domain:
        description: Domain of the user and the project.
        type: str
        default: default
      project:
        description: Project the user gets the role in.
        type: str
        default: service
      role:
        description: Role to assign in that project.
        type: str
        default: admin
extends_documentation_fragment:
  - openstack.cloud.openstack
"""

EXAMPLES = r"""
- name: Register glance
  aptstack.openstack.service_registration:
    cloud: aptstack
    name: glance
    service_type: image
    description: Image service
    url: http://192.0.2.10:9292
    user:
      name: glance
      password: "{{ glance_service_password }}"
"""

RETURN = r"""
service:
  description: The catalog service.
  returned: success
  type: dict
endpoints:
  description: Endpoint ids by interface.
  returned: success
  type: dict
  sample: {"public": "f0e1...", "internal": "a1b2...", "admin": "c3d4..."}
actions:
  description: What was (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.aptstack.openstack.plugins.module_utils.registration import (
    plan_endpoints,
    plan_service,
)
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule


class ServiceRegistrationModule(OpenStackModule):
    argument_spec = dict(
        name=dict(required=True),
        service_type=dict(required=True),
        description=dict(),
        url=dict(required=True),
        interfaces=dict(type="list", elements="str", default=["public", "internal", "admin"]),
        region=dict(default="RegionOne"),
        user=dict(
            type="dict",
            options=dict(
                name=dict(required=True),
                password=dict(required=True, no_log=True),
                domain=dict(default="default"),
                project=dict(default="service"),
                role=dict(default="admin"),
            ),
        ),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        actions = []
        check = self.ansible.check_mode
        service = self._ensure_service(actions, check)
        endpoints = self._ensure_endpoints(service, actions, check)
        if self.params["user"]:
            self._ensure_user(actions, check)
        self.exit_json(
            changed=bool(actions),
            actions=actions,
            service=service.to_dict(computed=False) if service is not None else {},
            endpoints=endpoints,
        )

    def _ensure_service(self, actions, check):
        p = self.params
        matches = list(self.conn.identity.services(name=p["name"], type=p["service_type"]))
        if len(matches) > 1:
            self.fail_json(msg=f"more than one catalog service named {p['name']} of type {p['service_type']}")
        existing = matches[0] if matches else None
        action, attrs = plan_service(
            existing.to_dict(computed=False) if existing is not None else None,
            p["name"],
            p["service_type"],
            p["description"],
        )
        if action:
            actions.append(f"{action} service {p['name']}")
        if check or not action:
            return existing
        if action == "create":
            return self.conn.identity.create_service(**attrs)
        return self.conn.identity.update_service(existing.id, **attrs)

    def _ensure_endpoints(self, service, actions, check):
        p = self.params
        if service is None:  # check mode, service not created yet
            actions.extend(f"create {i} endpoint" for i in p["interfaces"])
            return {}
        existing = [
            {"id": e.id, "interface": e.interface, "url": e.url, "region_id": e.region_id}
            for e in self.conn.identity.endpoints(service_id=service.id)
        ]
        create, update, delete = plan_endpoints(existing, p["interfaces"], p["url"], p["region"])
        actions.extend(f"create {i} endpoint" for i in create)
        actions.extend(f"fix endpoint {i} url" for i in update)
        actions.extend(f"delete duplicate endpoint {i}" for i in delete)
        if not check:
            for interface in create:
                self.conn.identity.create_endpoint(
                    service_id=service.id, interface=interface, url=p["url"], region_id=p["region"]
                )
            for endpoint_id, url in update.items():
                self.conn.identity.update_endpoint(endpoint_id, url=url)
            for endpoint_id in delete:
                self.conn.identity.delete_endpoint(endpoint_id)
        return {
            e.interface: e.id for e in self.conn.identity.endpoints(service_id=service.id) if e.region_id == p["region"]
        }

    def _ensure_user(self, actions, check):
        spec = self.params["user"]
        identity = self.conn.identity
        domain = identity.find_domain(spec["domain"], ignore_missing=True)
        if domain is None:
            self.fail_json(msg=f"domain {spec['domain']} not found")
        project = identity.find_project(spec["project"], domain_id=domain.id, ignore_missing=True)
        if project is None:
            self.fail_json(msg=f"project {spec['project']} not found in domain {spec['domain']}")
        role = identity.find_role(spec["role"], ignore_missing=True)
        if role is None:
            self.fail_json(msg=f"role {spec['role']} not found")
        user = identity.find_user(spec["name"], domain_id=domain.id, ignore_missing=True)
        if user is None:
            actions.append(f"create user {spec['name']}")
            if check:
                actions.append(f"assign role {spec['role']} to {spec['name']}")
                return
            user = identity.create_user(
                name=spec["name"],
                password=spec["password"],
                domain_id=domain.id,
                default_project_id=project.id,
                is_enabled=True,
            )
        if not identity.validate_user_has_project_role(project, user, role):
            actions.append(f"assign role {spec['role']} to {spec['name']}")
            if not check:
                identity.assign_project_role_to_user(project, user, role)


def main():
    module = ServiceRegistrationModule()
    module()


if __name__ == "__main__":
    main()

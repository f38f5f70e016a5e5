# Copyright: aptstack developers
# Apache License 2.0
"""The ceph_key filter: a Ceph (cephx) secret key made from a generated secret."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ceph_key
short_description: A cephx key (the base64 form keyrings hold) derived from a generated secret
description:
  - Returns the base64 text of a Ceph C(CryptoKey) (type AES, creation time 0, a 16-byte secret), as
    C(ceph-authtool --gen-print-key) prints one, with the secret taken from the SHA-256 of the input.
  - The same input always gives the same key, so every host that needs a key (the monitor, the
    clients, libvirt's secret on compute hosts) computes it from aptstack's generated secrets
    without fetching it from another host.
options:
  _input:
    description: A generated secret (aptstack's secrets file).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The cinder client's key
  ansible.builtin.set_fact:
    cinder_key: "{{ aptstack_secrets['ceph_cinder_key'] | aptstack.openstack.ceph_key }}"
"""

RETURN = r"""
_value:
  description: The key, 40 base64 characters starting with C(AQ).
  type: str
"""

import base64
import hashlib
import struct

from ansible.errors import AnsibleFilterError

# CEPH_CRYPTO_AES; the key's creation time (seconds, nanoseconds); the secret's length.
_HEADER = struct.pack("<HIIH", 1, 0, 0, 16)


def ceph_key(seed):
    if not isinstance(seed, str) or not seed:
        raise AnsibleFilterError("ceph_key needs a non-empty string")
    secret = hashlib.sha256(seed.encode()).digest()[:16]
    return base64.b64encode(_HEADER + secret).decode()


class FilterModule:
    def filters(self):
        return {"ceph_key": ceph_key}

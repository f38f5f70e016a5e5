"""The ceph_key filter makes keys in cephx's own format, the same for the same secret."""

import base64
import struct

import pytest
from ansible.errors import AnsibleFilterError

from .source_files import load_source

ceph_key = load_source("plugins/filter/ceph_key.py").ceph_key


def test_a_key_has_cephx_layout():
    key = ceph_key("a generated secret")
    raw = base64.b64decode(key)
    assert len(key) == 40 and key.startswith("AQ")
    kind, sec, nsec, length = struct.unpack("<HIIH", raw[:12])
    assert (kind, sec, nsec, length) == (1, 0, 0, 16)
    assert len(raw) == 12 + 16


def test_the_same_secret_gives_the_same_key_and_others_differ():
    assert ceph_key("one") == ceph_key("one")
    assert ceph_key("one") != ceph_key("two")


@pytest.mark.parametrize("seed", ["", None, 3])
def test_no_key_without_a_secret(seed):
    with pytest.raises(AnsibleFilterError):
        ceph_key(seed)

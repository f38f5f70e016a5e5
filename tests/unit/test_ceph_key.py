"""The ceph_key filter makes keys in cephx's own format, the same for the same secret."""

import base64
import importlib.util
import struct
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

_SPEC = importlib.util.spec_from_file_location(
    "ceph_key", Path(__file__).resolve().parents[2] / "plugins" / "filter" / "ceph_key.py"
)
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)
ceph_key = _MODULE.ceph_key


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

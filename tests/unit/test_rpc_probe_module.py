"""The rpc_probe module's pure logic: one-line, masked failures and the median (the timing itself
is exercised against a running nova-conductor by every verify)."""

import json
import os
import subprocess
import sys

import pytest

from .source_files import ROOT, load_source

MODULE = ROOT / "plugins" / "modules" / "rpc_probe.py"


@pytest.fixture(scope="module")
def probe():
    return load_source(str(MODULE.relative_to(ROOT)))


def test_credentials_of_a_transport_url_are_masked(probe):
    text = "cannot reach rabbit://nova:s3cr:et@10.0.0.1:5672/ or rabbit://openstack:pw@[fd00::1]:5672//"
    masked = probe.mask_credentials(text)
    assert "s3cr" not in masked and "pw@" not in masked
    assert masked == "cannot reach rabbit://***@10.0.0.1:5672/ or rabbit://***@[fd00::1]:5672//"


def test_credentials_of_every_host_of_a_transport_url_are_masked(probe):
    text = "rabbit://nova:one@10.0.0.1:5672,nova:two@10.0.0.2:5672/nova"
    assert probe.mask_credentials(text) == "rabbit://***@10.0.0.1:5672,***@10.0.0.2:5672/nova"


def test_a_url_without_credentials_is_unchanged(probe):
    assert probe.mask_credentials("rabbit://10.0.0.1:5672/") == "rabbit://10.0.0.1:5672/"


def test_failure_is_one_masked_line_with_a_hint_for_the_ping_endpoint(probe):
    class RemoteError(Exception):
        pass

    error = RemoteError(
        "Remote error: UnsupportedVersion Endpoint does not support RPC version 1.0. "
        "Attempted method: oslo_rpc_server_ping\n['Traceback (most recent call last):\\n', ...]"
    )
    message = probe.failure_message("nova", "conductor", error)
    assert "\n" not in message
    assert message.startswith("RPC call oslo_rpc_server_ping to topic conductor in exchange nova failed: RemoteError:")
    assert "Traceback" not in message
    assert message.endswith("(do the servers have [DEFAULT] rpc_ping_enabled = true?)")


def test_failure_of_the_transport_masks_its_url(probe):
    error = ConnectionError("Unable to connect to rabbit://nova:secret@10.0.0.10:5672/")
    message = probe.failure_message("nova", "conductor", error)
    assert "secret" not in message
    assert message.endswith("ConnectionError: Unable to connect to rabbit://***@10.0.0.10:5672/")


def test_median_in_milliseconds(probe):
    assert probe.median_ms([0.5017, 0.5019, 0.5016]) == 501.7
    assert probe.median_ms([0.01, 0.012]) == 11.0


def test_without_oslo_messaging_the_module_fails_cleanly(tmp_path):
    # An oslo_messaging that cannot be imported, first on the path whatever this machine has.
    broken = tmp_path / "broken" / "oslo_messaging"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('no oslo.messaging here')\n")
    collection = tmp_path / "collections" / "ansible_collections" / "aptstack"
    collection.mkdir(parents=True)
    (collection / "openstack").symlink_to(ROOT)
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"calls": 2}}))
    env = dict(os.environ, PYTHONPATH=f"{tmp_path / 'broken'}:{tmp_path / 'collections'}")
    proc = subprocess.run([sys.executable, str(MODULE), str(args)], capture_output=True, text=True, env=env, timeout=60)
    result = json.loads(proc.stdout)
    assert result["failed"] is True
    assert "oslo.messaging" in result["msg"]
    assert result["changed"] is False

"""The test guest's curl and sudo shims (roles/test_guest/files/guest-curl and guest-sudo): the
command forms Tempest runs over SSH, turned into busybox wget calls (here a stand-in wget that
prints its arguments)."""

import subprocess

import pytest

from .source_files import ROOT

FILES = ROOT / "roles" / "test_guest" / "files"


@pytest.fixture
def run(tmp_path):
    fake = tmp_path / "wget"
    fake.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    fake.chmod(0o755)

    def run(script, *args):
        return subprocess.run(
            ["sh", str(FILES / script), *args],
            env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )

    return run


def test_curl_gets_a_url_to_stdout(run):
    result = run("guest-curl", "http://169.254.169.254/latest/meta-data/public-ipv4")
    assert result.returncode == 0
    assert result.stdout == "-q|-O|-|http://169.254.169.254/latest/meta-data/public-ipv4|"


def test_curl_posts_data_as_tempest_sends_the_password(run):
    url = "http://169.254.169.254/openstack/2013-10-17/password"
    for args in (["-X", "POST", "-d", "secret", url], ["-d", "secret", url], ["-s", "--data", "secret", url]):
        result = run("guest-curl", *args)
        assert result.returncode == 0, args
        assert result.stdout == f"-q|-O|-|--post-data|secret|{url}|", args


def test_curl_refuses_what_it_does_not_understand(run):
    result = run("guest-curl", "--insecure", "https://x")
    assert result.returncode == 2 and "option --insecure not supported" in result.stderr
    result = run("guest-curl", "-s")
    assert result.returncode == 2 and "no URL" in result.stderr


def test_sudo_runs_the_command_as_it_is(run):
    result = run("guest-sudo", "sh", "-c", 'echo "as $0"', "root")
    assert result.returncode == 0 and result.stdout == "as root\n"

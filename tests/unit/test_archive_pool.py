"""Each lab host's own apt archive directory inside the shared pool (src/aptstack/rootfs.py)."""

import subprocess

import pytest

from aptstack import rootfs
from aptstack.releases import get_release


@pytest.fixture
def release(tmp_path, monkeypatch):
    monkeypatch.setenv("APTSTACK_CACHE_DIR", str(tmp_path))
    return get_release("resolute")


def test_a_host_gets_the_pool_and_gives_back_its_downloads(release):
    pool = rootfs.apt_archive_cache(release)
    (pool / "a_1_all.deb").write_text("a")
    rootfs.share_archives(release, "lab-compute1")
    own = rootfs.host_archive_dir(release, "lab-compute1")
    assert (own / "a_1_all.deb").samefile(pool / "a_1_all.deb")
    assert (own / "partial").is_dir()

    (own / "b_2_all.deb").write_text("b")
    rootfs.share_archives(release, "lab-compute1")
    assert (pool / "b_2_all.deb").samefile(own / "b_2_all.deb")

    (own / "c_3_all.deb").write_text("c")
    rootfs.release_archives(release, "lab-compute1")
    assert not own.exists()
    assert sorted(p.name for p in pool.glob("*.deb")) == ["a_1_all.deb", "b_2_all.deb", "c_3_all.deb"]


def test_release_of_a_host_without_archives_is_quiet(release):
    rootfs.release_archives(release, "never-started")


def test_the_apt_settings_parse_and_name_the_host_directory(tmp_path):
    conf = tmp_path / "91aptstack-archives"
    conf.write_text(rootfs.host_apt_conf("lab-aio"))
    dump = subprocess.run(["apt-config", "-c", str(conf), "dump"], capture_output=True, text=True, check=True).stdout
    assert f'Dir::Cache::archives "{rootfs.POOL_MOUNT}/hosts/lab-aio/";' in dump
    assert f"-links 1 -exec ln -t {rootfs.POOL_MOUNT} {{}} +" in dump

"""What the test guest says about its disks, and when the volume check calls that a failure
(plugins/module_utils/guest_console.py, used by the volume_check module)."""

from .source_files import load_source

gc = load_source("plugins/module_utils/guest_console.py")

GIB = 1024**3
BOOT = """
APTSTACK-GUEST metadata-uuid=1a89003f-da52-4560-ab22-605c93f0e26a uptime=13.02
APTSTACK-GUEST disks=vda:1073741824 uptime=13.10
APTSTACK-GUEST ready uptime=13.11
"""
ATTACHED = (
    BOOT
    + """APTSTACK-GUEST volume-attached=vdb size=1073741824 uptime=35.09
APTSTACK-GUEST volume-write=vdb token=789942f9b7f63dc4 uptime=51.05
APTSTACK-GUEST volume-read=vdb token=789942f9b7f63dc4 uptime=51.26
"""
)


def test_the_markers_of_an_attach_write_read_and_detach():
    parsed = gc.parse_volume_markers(ATTACHED + "APTSTACK-GUEST volume-detached=vdb uptime=55.59\n")
    assert parsed["disks"] == {"vda": GIB}
    assert parsed["attached"] == {"vdb": GIB}
    assert parsed["written"] == parsed["read"] == {"vdb": "789942f9b7f63dc4"}
    assert parsed["detached"] == ["vdb"]


def test_a_guest_that_read_back_what_it_wrote_passes():
    before, after = gc.parse_volume_markers(BOOT), gc.parse_volume_markers(ATTACHED)
    assert gc.volume_problems(before, after, GIB, "789942f9b7f63dc4") == []


def test_no_new_disk_fails():
    before = gc.parse_volume_markers(BOOT)
    assert gc.volume_problems(before, before, GIB, "t") == [
        "the guest reported no new disk (no volume-attached marker)"
    ]


def test_a_disk_seen_before_the_attach_is_not_new():
    before = gc.parse_volume_markers(ATTACHED)
    assert gc.volume_problems(before, before, GIB, "789942f9b7f63dc4")[0].startswith("the guest reported no new disk")


def test_a_wrong_size_another_token_or_a_different_read_fail():
    before, after = gc.parse_volume_markers(BOOT), gc.parse_volume_markers(ATTACHED)
    assert (
        "has 1073741824 bytes, the volume 2147483648"
        in gc.volume_problems(before, after, 2 * GIB, "789942f9b7f63dc4")[0]
    )
    assert gc.volume_problems(before, after, GIB, "another") == ["the guest did not write the volume token to vdb"]
    changed = gc.parse_volume_markers(
        ATTACHED.replace("volume-read=vdb token=789942f9b7f63dc4", "volume-read=vdb token=none")
    )
    assert gc.volume_problems(before, changed, GIB, "789942f9b7f63dc4") == [
        "the guest read 'none' back from vdb, not the token it wrote"
    ]


def test_a_failed_write_is_named():
    before = gc.parse_volume_markers(BOOT)
    after = gc.parse_volume_markers(
        BOOT + "APTSTACK-GUEST volume-attached=vdb size=1073741824\nAPTSTACK-GUEST volume-write-failed=vdb\n"
    )
    assert gc.volume_problems(before, after, GIB, "t") == ["the guest could not write to vdb"]

"""The masked_diff filter shows what changes without showing a secret."""

from .source_files import load_source

masked_diff = load_source("plugins/filter/mask.py").masked_diff


def test_changed_option_shows_and_secrets_do_not():
    before = "[database]\nconnection = mysql://nova:old-secret@db/nova\nmax_pool_size = 5\n"
    after = "[database]\nconnection = mysql://nova:new-secret@db/nova\nmax_pool_size = 10\n"
    lines = masked_diff(before, after, ["old-secret", "new-secret"], "/etc/nova/nova.conf")
    text = "\n".join(lines)
    assert "old-secret" not in text and "new-secret" not in text
    assert "-max_pool_size = 5" in lines and "+max_pool_size = 10" in lines
    assert lines[0] == "--- /etc/nova/nova.conf (current)"


def test_a_changed_secret_alone_shows_no_change():
    before = "[a]\npassword = one\n"
    after = "[a]\npassword = two\n"
    assert masked_diff(before, after, ["one", "two"]) == []


def test_same_text_and_a_new_file():
    assert masked_diff("x = 1\n", "x = 1\n", []) == []
    assert masked_diff("", "x = s3cret\n", ["s3cret"])[-1] == "+x = ****"

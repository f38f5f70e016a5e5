"""tempest.conf's extension lists sorted (roles/tempest/files/sort_extension_lists.py)."""

from .source_files import load_source

sel = load_source("roles/tempest/files/sort_extension_lists.py")

CONF = """[identity-feature-enabled]
api_extensions = s3tokens, OS-EP-FILTER,OS-REVOKE , OS-INHERIT
api_v3 = True

[network-feature-enabled]
api_extensions = router, agent
"""


def test_every_extension_list_is_sorted_and_nothing_else_changes():
    assert (
        sel.sort_extension_lists(CONF)
        == """[identity-feature-enabled]
api_extensions = OS-EP-FILTER, OS-INHERIT, OS-REVOKE, s3tokens
api_v3 = True

[network-feature-enabled]
api_extensions = agent, router
"""
    )


def test_two_orders_give_the_same_file(tmp_path):
    first, second = tmp_path / "a.conf", tmp_path / "b.conf"
    first.write_text("[identity-feature-enabled]\napi_extensions = b, a, c\n")
    second.write_text("[identity-feature-enabled]\napi_extensions = c, b, a\n")
    sel.main(str(first))
    sel.main(str(second))
    assert first.read_text() == second.read_text()

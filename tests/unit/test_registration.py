from .source_files import load_source

registration = load_source("plugins/module_utils/registration.py")


def test_missing_service_is_created_enabled():
    assert registration.plan_service(None, "glance", "image", "Images") == (
        "create",
        {"name": "glance", "type": "image", "description": "Images", "is_enabled": True},
    )


def test_matching_service_needs_nothing():
    existing = {"name": "glance", "type": "image", "description": "Images", "is_enabled": True}
    assert registration.plan_service(existing, "glance", "image", "Images") == (None, {})


def test_changed_description_and_disabled_service_are_fixed():
    existing = {"name": "glance", "type": "image", "description": "old", "is_enabled": False}
    assert registration.plan_service(existing, "glance", "image", "Images") == (
        "update",
        {"description": "Images", "is_enabled": True},
    )


def test_no_description_wanted_leaves_it_alone():
    existing = {"name": "nova", "type": "compute", "description": "whatever", "is_enabled": True}
    assert registration.plan_service(existing, "nova", "compute", None) == (None, {})


def endpoint(id_, interface, url, region="RegionOne"):
    return {"id": id_, "interface": interface, "url": url, "region_id": region}


def test_endpoints_created_fixed_and_deduplicated():
    existing = [
        endpoint("a", "public", "http://old"),
        endpoint("b", "internal", "http://new"),
        endpoint("c", "internal", "http://other"),
        endpoint("d", "admin", "http://new", region="Elsewhere"),
    ]
    create, update, delete = registration.plan_endpoints(
        existing, ["public", "internal", "admin"], "http://new", "RegionOne"
    )
    assert create == ["admin"]
    assert update == {"a": "http://new"}
    assert delete == ["c"]


def test_complete_endpoints_need_nothing():
    existing = [endpoint(i, i, "http://x") for i in ("public", "internal", "admin")]
    assert registration.plan_endpoints(existing, ["public", "internal", "admin"], "http://x", "RegionOne") == (
        [],
        {},
        [],
    )

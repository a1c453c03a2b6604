from __future__ import annotations

from runyard import catalog

PUBLIC = [
    "BUILTIN_OWNER",
    "Bucket",
    "CatalogContent",
    "ObjectPage",
    "Revision",
    "RevisionDiff",
    "VariableMetadata",
    "WorkflowMetadata",
    "create_bucket",
    "delete_bucket",
    "delete_object",
    "diff_revisions",
    "get_bucket",
    "get_object",
    "get_revision",
    "list_buckets",
    "list_objects",
    "list_revisions",
    "load_builtin_buckets",
    "put_object",
    "read_raw",
    "resolve_script_url",
    "restore_revision",
]


def test_the_public_names_of_the_catalog_are_pinned() -> None:
    assert catalog.__all__ == PUBLIC
    assert all(hasattr(catalog, name) for name in PUBLIC)

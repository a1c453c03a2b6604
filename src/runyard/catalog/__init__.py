"""The catalog: buckets of objects (workflows, scripts...), every update a new revision.

Rights are checked here, not in the API: every function taking a ``User`` refuses what that user
may not do (see :mod:`runyard.catalog.access`).
"""

from runyard.catalog.buckets import Bucket as Bucket
from runyard.catalog.buckets import create_bucket as create_bucket
from runyard.catalog.buckets import delete_bucket as delete_bucket
from runyard.catalog.buckets import get_bucket as get_bucket
from runyard.catalog.buckets import list_buckets as list_buckets
from runyard.catalog.builtin import BUILTIN_OWNER as BUILTIN_OWNER
from runyard.catalog.builtin import load_builtin_buckets as load_builtin_buckets
from runyard.catalog.diffs import RevisionDiff as RevisionDiff
from runyard.catalog.diffs import diff_revisions as diff_revisions
from runyard.catalog.metadata import VariableMetadata as VariableMetadata
from runyard.catalog.metadata import WorkflowMetadata as WorkflowMetadata
from runyard.catalog.objects import ObjectPage as ObjectPage
from runyard.catalog.objects import delete_object as delete_object
from runyard.catalog.objects import get_object as get_object
from runyard.catalog.objects import list_objects as list_objects
from runyard.catalog.objects import put_object as put_object
from runyard.catalog.objects import read_raw as read_raw
from runyard.catalog.revisions import CatalogContent as CatalogContent
from runyard.catalog.revisions import Revision as Revision
from runyard.catalog.revisions import get_revision as get_revision
from runyard.catalog.revisions import list_revisions as list_revisions
from runyard.catalog.revisions import restore_revision as restore_revision
from runyard.catalog.script_urls import resolve_script_url as resolve_script_url

__all__ = [
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

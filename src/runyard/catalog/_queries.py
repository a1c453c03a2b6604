"""SQL shared by buckets and objects: each object joined to its latest revision."""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.schema import catalog_objects, catalog_revisions

LATEST_REVISION = sa.and_(
    catalog_revisions.c.bucket_name == catalog_objects.c.bucket_name,
    catalog_revisions.c.object_name == catalog_objects.c.name,
    catalog_revisions.c.revision == catalog_objects.c.last_revision,
)
"""Join condition of ``catalog_objects`` with the row of its latest revision."""

"""The Catalog pages: ``/catalog`` (buckets), ``/catalog/{bucket}`` (its objects) and
``/catalog/{bucket}/{name}`` (an object's revisions, raw view, diff, restore); importing declares them."""

from runyard.web.pages.catalog import bucket, buckets, revisions

__all__ = ["bucket", "buckets", "revisions"]

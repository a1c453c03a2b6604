"""``runyard catalog``: buckets, objects and revisions on a server."""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from runyard.cli.remote import Json, Token, Url, connected, err, fail, local_time, out, print_json
from runyard.cli.tables import new_table, show
from runyard.client.catalog_import import import_catalog
from runyard.client.documents import Revision
from runyard.errors import InvalidRequestError

catalog_app = typer.Typer(help="Buckets of workflows and scripts on the server, with every revision.")

ObjectRef = Annotated[str, typer.Argument(help="BUCKET/NAME.", metavar="BUCKET/NAME")]
BucketName = Annotated[str, typer.Argument(help="Bucket name.")]


@catalog_app.command("buckets")
def buckets(
    kind: Annotated[str | None, typer.Option("--kind", help="Holding an object of this kind.")] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List the buckets you may read."""
    with connected(url, token) as client:
        found = client.list_buckets(kind=kind)
    if json_output:
        print_json(found)
        return
    table = new_table("bucket", "owner", "public", "objects")
    for bucket in found:
        visibility = "yes" if bucket["public"] else "no"
        table.add_row(
            escape(bucket["name"]), escape(bucket["owner"]), visibility, str(bucket["object_count"])
        )
    show(out, table)


@catalog_app.command("objects")
def objects(
    bucket: BucketName,
    kind: Annotated[str | None, typer.Option("--kind", help="This kind or below (Workflow).")] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List a bucket's objects (their latest revision)."""
    with connected(url, token) as client:
        page = client.list_objects(bucket, kind=kind, limit=1000)
    if json_output:
        print_json(page)
        return
    show(out, _objects_table(page["objects"]))


@catalog_app.command("create-bucket")
def create_bucket(
    bucket: BucketName,
    public: Annotated[bool, typer.Option("--public", help="Readable by every user.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Create a bucket of yours."""
    with connected(url, token) as client:
        client.create_bucket(bucket, public=public)
    err.print(f"created bucket {bucket}")


@catalog_app.command("delete")
def delete(
    ref: Annotated[
        str, typer.Argument(help="BUCKET, or BUCKET/NAME for one object.", metavar="BUCKET[/NAME]")
    ],
    force: Annotated[bool, typer.Option("--force", help="Delete a bucket with its objects.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Delete a bucket (empty, unless --force), or an object with all its revisions."""
    bucket, _, name = ref.partition("/")
    with connected(url, token) as client:
        if name:
            client.delete_object(bucket, name)
        else:
            client.delete_bucket(bucket, force=force)
    err.print(f"deleted {ref}")


@catalog_app.command("push")
def push(
    ref: ObjectRef,
    file: Annotated[Path, typer.Argument(help="The content.", exists=True, dir_okay=False, readable=True)],
    kind: Annotated[
        str | None, typer.Option("--kind", help="Needed for a new object: Workflow/standard, Script/task...")
    ] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="Commit message.")] = "",
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Media type (default: guessed by the server).")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project name.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Commit a file as the next revision of BUCKET/NAME (the first one creates the object)."""
    bucket, name = _split(ref)
    with connected(url, token, workflow_file=file) as client:
        revision = client.push_object(
            bucket,
            name,
            file,
            kind=kind,
            commit_message=message,
            content_type=content_type,
            project_name=project,
            tags=tag,
        )
    if json_output:
        print_json(revision)
    else:
        err.print(f"pushed {ref} revision {revision['revision']}")


@catalog_app.command("pull")
def pull(
    ref: ObjectRef,
    revision: Annotated[
        int | None, typer.Option("--revision", min=1, help="Revision (default: the latest).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Print an object's content (or write it to a file)."""
    bucket, name = _split(ref)
    with connected(url, token) as client:
        data = client.pull_object(bucket, name, revision)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror}")
    err.print(f"wrote {output}")


@catalog_app.command("import")
def import_(
    path: Annotated[
        Path,
        typer.Argument(
            help="A ProActive catalog: a bucket folder with METADATA.json, or a folder of them.",
            exists=True,
            file_okay=False,
        ),
    ],
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Import a ProActive catalog folder (METADATA.json + resources/catalog/*): buckets, names, kinds,
    content types and projects kept; an unchanged object gets no new revision. Exit 1 if any is refused."""
    with connected(url, token) as client:
        try:
            outcomes = import_catalog(client, path)
        except InvalidRequestError as error:
            fail(str(error))
    if json_output:
        print_json([dataclasses.asdict(o) for o in outcomes])
    else:
        table = new_table("bucket", "object", "outcome", "revision", "reason")
        for o in outcomes:
            table.add_row(
                escape(o.bucket), escape(o.name), o.outcome, str(o.revision or ""), escape(o.reason)
            )
        show(out, table)
        counts = Counter(o.outcome for o in outcomes)
        err.print(", ".join(f"{counts[k]} {k}" for k in ("imported", "updated", "unchanged", "refused")))
    if any(o.outcome == "refused" for o in outcomes):
        raise typer.Exit(1)


@catalog_app.command("revisions")
def revisions(ref: ObjectRef, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """List an object's revisions, newest first."""
    bucket, name = _split(ref)
    with connected(url, token) as client:
        found = client.list_revisions(bucket, name)
    if json_output:
        print_json(found)
    else:
        show(out, _revisions_table(found))


@catalog_app.command("diff")
def diff(
    ref: ObjectRef,
    from_revision: Annotated[
        int | None, typer.Option("--from", help="The older revision (default: the one before --to).", min=1)
    ] = None,
    to_revision: Annotated[
        int | None, typer.Option("--to", help="The newer one (default: the latest).", min=1)
    ] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show what changed between two revisions (a unified diff; --json: the side-by-side blocks too)."""
    bucket, name = _split(ref)
    with connected(url, token) as client:
        compared = client.diff_revisions(bucket, name, from_revision, to_revision)
    if json_output:
        print_json(compared)
    elif compared["identical"]:
        revisions = f"{compared['from_revision']} and {compared['to_revision']}"
        err.print(f"{escape(ref)}: revisions {revisions} are identical")
    else:
        out.print(compared["unified"], markup=False, highlight=False, soft_wrap=True)


@catalog_app.command("restore")
def restore(
    ref: ObjectRef,
    revision: Annotated[int, typer.Argument(help="The revision to bring back.", min=1)],
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Commit a copy of an old revision as the newest one."""
    bucket, name = _split(ref)
    with connected(url, token) as client:
        restored = client.restore_revision(bucket, name, revision)
    if json_output:
        print_json(restored)
    else:
        err.print(f"restored {ref} revision {revision} as revision {restored['revision']}")


def _split(ref: str) -> tuple[str, str]:
    bucket, slash, name = ref.partition("/")
    if not (slash and bucket and name):
        fail(f"expected BUCKET/NAME, got {ref!r}")
    return bucket, name


def _objects_table(found: list[Revision]) -> Table:
    table = new_table("name", "kind", "revision", "project", "committed")
    for latest in found:
        table.add_row(
            escape(latest["name"]),
            escape(latest["kind"]),
            str(latest["revision"]),
            escape(latest["project_name"] or ""),
            local_time(latest["commit_time"]),
        )
    return table


def _revisions_table(found: list[Revision]) -> Table:
    table = new_table("revision", "committed", "by", "message")
    for revision in found:
        table.add_row(
            str(revision["revision"]),
            local_time(revision["commit_time"]),
            escape(revision["author"]),
            escape(revision["commit_message"]),
        )
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")

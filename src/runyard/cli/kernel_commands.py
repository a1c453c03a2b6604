"""``runyard kernel install``: make Jupyter offer the runyard kernel (docs/jupyter-kernel.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from runyard.cli.remote import err, fail

kernel_app = typer.Typer(help="The runyard Jupyter kernel: notebooks whose cells build and run workflows.")


@kernel_app.command("install")
def install_kernel(
    user: Annotated[
        bool, typer.Option("--user", help="Install for you only (in your Jupyter data folder).")
    ] = False,
    prefix: Annotated[
        Path | None,
        typer.Option(
            "--prefix", help="Install under this prefix (PREFIX/share/jupyter/kernels), e.g. a venv."
        ),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="The kernelspec's name.")] = "runyard",
) -> None:
    """Write the kernelspec (default: system-wide, which needs the rights to)."""
    if importlib.util.find_spec("ipykernel") is None:
        fail("the kernel needs ipykernel: pip install 'runyard[kernel]'")
    from runyard.kernel.kernelspec import install  # Jupyter's modules load only for this command

    if user and prefix is not None:
        fail("give --user or --prefix, not both")
    try:
        written = install(user=user, prefix=None if prefix is None else str(prefix), name=name)
    except (OSError, ValueError) as error:
        fail(f"cannot install the kernelspec: {error}")
    err.print(f"kernelspec '{name}' written in {written}")


def register(app: typer.Typer) -> None:
    app.add_typer(kernel_app, name="kernel")

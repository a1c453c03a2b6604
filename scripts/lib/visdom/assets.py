"""Install Visdom's web assets from the npm registry into ``visdom/static`` of the Python running this.

Visdom's server would download them from CDNs at start (``visdom/server/build.py``), which fails offline and
makes each start depend on the Internet. Here they come from ``npm pack`` of pinned npm packages, listed
once below with the name ``build.py`` gives each file, and ``static/version.built`` says they are there.
Usage: ``VENV/bin/python scripts/lib/visdom/assets.py`` (``npm`` on the PATH).
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

import visdom

#: npm package -> {file in the package: file under ``visdom/static``}.
ASSETS: dict[str, dict[str, str]] = {
    "jquery@3.1.1": {"dist/jquery.min.js": "js/jquery.min.js"},
    "bootstrap@3.3.7": {
        "dist/js/bootstrap.min.js": "js/bootstrap.min.js",
        "dist/css/bootstrap.min.css": "css/bootstrap.min.css",
        **{
            f"dist/fonts/glyphicons-halflings-regular.{kind}": f"fonts/glyphicons-halflings-regular.{kind}"
            # build.py names the svg "...svg#glyphicons_halflingsregular", bootstrap.min.css's URL, whose
            # fragment a browser never sends: the file is stored under the name that is asked for.
            for kind in ("eot", "woff2", "woff", "ttf", "svg")
        },
    },
    "react@16.2.0": {"umd/react.production.min.js": "js/react-react.min.js"},
    "react-dom@16.2.0": {"umd/react-dom.production.min.js": "js/react-dom.min.js"},
    "react-modal@3.1.10": {"dist/react-modal.min.js": "js/react-modal.min.js"},
    "plotly.js-dist-min@2.11.1": {"plotly.min.js": "js/plotly-plotly.min.js"},
    "sjcl@1.0.7": {"sjcl.js": "js/sjcl.js"},
    "layout-bin-packer@1.4.0": {
        "dist/layout-bin-packer.js": "js/layout_bin_packer.js",
        "dist/layout-bin-packer.js.map": "js/layout-bin-packer.js.map",
    },
    "d3@3.5.17": {"d3.min.js": "js/d3.v3.min.js"},
    "d3-selection-multi@1.0.1": {"build/d3-selection-multi.js": "js/d3-selection-multi.v1.js"},
    "save-svg-as-png@1.4.17": {"lib/saveSvgAsPng.js": "js/saveSvgAsPng.js"},
    "react-resizable@1.4.6": {"css/styles.css": "css/react-resizable-styles.css"},
    "react-grid-layout@0.16.3": {"css/styles.css": "css/react-grid-layout-styles.css"},
    "classnames@2.2.5": {"index.js": "fonts/classnames"},
    "mathjax@2.7.5": {
        path: f"js/mathjax/2.7.5/{path}"
        for path in (
            "MathJax.js",
            "config/Safe.js",
            "config/TeX-AMS-MML_HTMLorMML.js",
            "extensions/Safe.js",
            "jax/output/SVG/config.js",
            "jax/output/SVG/jax.js",
            "jax/output/SVG/fonts/TeX/fontdata.js",
            "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js",
        )
    },
}


def install(static: Path) -> None:
    """Pack every package of :data:`ASSETS` and copy its files into ``static``; then ``version.built``."""
    with tempfile.TemporaryDirectory() as folder:
        packed = subprocess.run(
            ["npm", "pack", "--silent", "--pack-destination", folder, *ASSETS],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        for package, archive in zip(ASSETS, packed, strict=True):
            with tarfile.open(Path(folder) / archive) as tar:
                for inside, target in ASSETS[package].items():
                    member = tar.extractfile(f"package/{inside}")
                    if member is None:
                        raise SystemExit(f"{package}: {inside} is not a file")
                    (static / target).parent.mkdir(parents=True, exist_ok=True)
                    (static / target).write_bytes(member.read())
    (static / "version.built").write_text(visdom.__version__, encoding="utf-8")


if __name__ == "__main__":
    install(Path(visdom.__file__).parent / "static")

"""runyard's own implementations of the ProActive classes real Groovy scripts import (``JobVariable``,
``ProActiveInet``, the job listing's filter and sort, ``VariableSubstitutor``, the PSA Java client), compiled
with the evaluator (:mod:`runyard.scripts.jvm.launcher`); and the Debian jars of the third-party classes
they import (guava, commons-lang3), put on the JVM's class path when installed. docs/scripts.md lists them.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Debian's jars (packages ``libguava-java``, ``libcommons-lang3-java``): absent ones are left out.
LIBRARIES = ("/usr/share/java/guava.jar", "/usr/share/java/commons-lang3.jar")


def sources() -> dict[str, bytes]:
    """The Java sources here, by file name (one class each, in ProActive's packages)."""
    return {path.name: path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.java"))}


def libraries() -> tuple[str, ...]:
    """The third-party jars installed here, resolved."""
    found = (os.path.realpath(jar) for jar in LIBRARIES)
    return tuple(jar for jar in found if os.access(jar, os.R_OK))

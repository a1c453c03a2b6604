"""The ``groovy`` and ``javascript`` engines: scripts run in the scope's warm JVM (``launcher``)."""

from __future__ import annotations

import os
import tempfile

from runyard.errors import ScriptError
from runyard.scripts.bindings import Bindings
from runyard.scripts.engine import ScriptOutput, ScriptSource
from runyard.scripts.jvm import launcher
from runyard.scripts.jvm.session import run_in_jvm


class JvmEngine:
    """Runs ``language`` (``groovy``: Debian's groovy-all jar; ``javascript``: Rhino, with Java
    classes reachable as in ProActive) in the JVM of this process's scope, started on first use."""

    def __init__(self, language: str, jar: str) -> None:
        self.language = language
        self.jar = jar  # "groovy_jar" or "rhino_jar": the Installation field this engine needs

    def unavailable(self) -> str | None:
        """Why this engine cannot run here (no Java, or its jar missing), or ``None``."""
        found = launcher.installation()
        if isinstance(found, str):
            return found
        if getattr(found, self.jar) is None:
            package = "groovy" if self.jar == "groovy_jar" else "rhino"
            return f"the {self.language} jar is missing (Debian: apt-get install {package})"
        return None

    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        reason = self.unavailable()
        if reason is not None:
            raise ScriptError(f"{self.language} scripts cannot run here: {reason}")
        # The job's local folder: the scope's sandbox shows it to the scope's processes only.
        folder = (
            os.path.dirname(bindings.localspace.rstrip("/")) if bindings.localspace else tempfile.gettempdir()
        )
        try:
            client = launcher.connect(folder)
        except (launcher.JvmError, OSError) as error:
            raise ScriptError(f"cannot start the JVM of {self.language} scripts: {error}") from None
        with client:
            return run_in_jvm(client, self.language, source, bindings)

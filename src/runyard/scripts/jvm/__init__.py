"""Groovy and JavaScript scripts on a warm JVM per scope (docs/scripts.md, "Groovy and JavaScript")."""

from runyard.scripts.jvm.engine import JvmEngine as JvmEngine

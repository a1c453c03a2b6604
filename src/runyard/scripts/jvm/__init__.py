"""Groovy and JavaScript scripts on a warm JVM per scope (docs/scripts.md, "Groovy and JavaScript")."""

from runyard.scripts.jvm.engine import JvmEngine as JvmEngine
from runyard.scripts.jvm.launcher import set_holder as set_holder

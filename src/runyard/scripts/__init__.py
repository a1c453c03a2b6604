"""Script engines and the binding contract scripts see (see docs/scripts.md).

Engines registered here: ``cpython`` and ``python`` (both CPython), ``bash``, ``shell``, ``R``;
``groovy`` and ``javascript`` (a warm JVM per scope: ``runyard.scripts.jvm``); native command lines
run through ``run_native``.
"""

from runyard.scripts.bash import BashEngine, ShellEngine
from runyard.scripts.bindings import Bindings as Bindings
from runyard.scripts.bindings import JavaMap as JavaMap
from runyard.scripts.bindings import ParentTaskResult as ParentTaskResult
from runyard.scripts.bindings import TaskResultError as TaskResultError
from runyard.scripts.cpython import CPythonEngine
from runyard.scripts.engine import ScriptEngine as ScriptEngine
from runyard.scripts.engine import ScriptFailure as ScriptFailure
from runyard.scripts.engine import ScriptOutput as ScriptOutput
from runyard.scripts.engine import ScriptSource as ScriptSource
from runyard.scripts.jvm import JvmEngine
from runyard.scripts.native import run_native as run_native
from runyard.scripts.process import VARIABLES_FILE as VARIABLES_FILE
from runyard.scripts.registry import get_engine as get_engine
from runyard.scripts.registry import known_languages as known_languages
from runyard.scripts.registry import register as register
from runyard.scripts.registry import resolve_language as resolve_language
from runyard.scripts.rlang import REngine
from runyard.scripts.run import run_script as run_script
from runyard.scripts.source import load_source as load_source
from runyard.scripts.values import EncodedResult as EncodedResult
from runyard.scripts.values import encode_result as encode_result
from runyard.scripts.values import json_mapping as json_mapping
from runyard.scripts.values import to_json_value as to_json_value

_python = CPythonEngine()
register("cpython", _python, extensions=[".py"])
register("python", _python)
register("bash", BashEngine(), extensions=[".sh", ".bash"])
register("shell", ShellEngine())
register("R", REngine(), extensions=[".R", ".r"])
register("groovy", JvmEngine("groovy", "groovy_jar"), extensions=[".groovy"])
register("javascript", JvmEngine("javascript", "rhino_jar"), extensions=[".js"])

"""Workflow formats: ProActive job XML, runyard YAML, the mapping form, Graphviz dot.

``load``/``loads`` read and validate, raising ``WorkflowFormatError`` with every problem
located as ``file:line``; ``validate`` checks a workflow already in memory, locating problems
from ``Workflow.locations``.
"""

from runyard.formats.dot import dump_dot as dump_dot
from runyard.formats.loading import Format as Format
from runyard.formats.loading import dump as dump
from runyard.formats.loading import dump_xml as dump_xml
from runyard.formats.loading import dump_yaml as dump_yaml
from runyard.formats.loading import load as load
from runyard.formats.loading import loads as loads
from runyard.formats.loading import validate as validate
from runyard.formats.mapping import from_mapping as from_mapping
from runyard.formats.mapping import to_mapping as to_mapping

__all__ = [
    "Format",
    "dump",
    "dump_dot",
    "dump_xml",
    "dump_yaml",
    "from_mapping",
    "load",
    "loads",
    "to_mapping",
    "validate",
]

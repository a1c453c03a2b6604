"""Names shared by the ProActive job XML reader and writer (reference §1)."""

from __future__ import annotations

NAMESPACE_PREFIX = "urn:proactive:jobdescriptor:"
NAMESPACE = "urn:proactive:jobdescriptor:3.14"
#: runyard's own attributes on ProActive elements: ``<task runyard:from="bucket/object">`` (a task reference).
RUNYARD_NAMESPACE = "urn:runyard:workflow:1"
REFERENCE_ATTRIBUTE = f"{{{RUNYARD_NAMESPACE}}}from"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NAMESPACE} http://www.activeeon.com/public_content/schemas/proactive/jobdescriptor/3.14/schedulerjob.xsd"

# (model field, XML attribute) in the order the writer emits them.
JOB_TEXT_ATTRIBUTES = (
    ("priority", "priority"),
    ("on_task_error", "onTaskError"),
    ("restart_task_on_error", "restartTaskOnError"),
    ("max_number_of_execution", "maxNumberOfExecution"),
    ("task_retry_delay", "taskRetryDelay"),
    ("project_name", "projectName"),
)
TASK_TEXT_ATTRIBUTES = (
    ("number_of_nodes", "numberOfNodes"),
    ("on_task_error", "onTaskError"),
    ("restart_task_on_error", "restartTaskOnError"),
    ("task_retry_delay", "taskRetryDelay"),
    ("max_number_of_execution", "maxNumberOfExecution"),
    ("walltime", "walltime"),
    ("result_preview_class", "resultPreviewClass"),
)
TASK_BOOL_ATTRIBUTES = (
    ("fork", "fork"),
    ("run_as_me", "runAsMe"),
    ("precious_result", "preciousResult"),
    ("precious_logs", "preciousLogs"),
)
# Attributes whose value is an integer unless it is a ``${VAR}`` reference.
INTEGER_FIELDS = frozenset({"max_number_of_execution", "number_of_nodes"})

JOB_SPACES = (
    ("input_space", "inputSpace"),
    ("output_space", "outputSpace"),
    ("global_space", "globalSpace"),
    ("user_space", "userSpace"),
)

TRUE_VALUES = frozenset({"true", "1"})
FALSE_VALUES = frozenset({"false", "0"})

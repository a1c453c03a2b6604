"""ProActive job XML (any ``urn:proactive:jobdescriptor:3.x`` / ``dev`` namespace, or none) → model.

Lines of the job, its tasks and variables are recorded in ``Workflow.locations`` (see
``runyard.formats.locations``). Content the model cannot hold is reported as a
:class:`~runyard.errors.Problem`, never silently dropped.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator

from lxml import etree

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats import limits, locations
from runyard.formats import xml_vocabulary as xv
from runyard.formats.script_text import normalize_code
from runyard.model import (
    Block,
    ControlFlow,
    EnvironmentVariable,
    Executable,
    FileSelector,
    FlowAction,
    ForkEnvironment,
    IfAction,
    JavaExecutable,
    LoopAction,
    NativeExecutable,
    Parallel,
    ReplicateAction,
    Script,
    ScriptExecutable,
    SelectionScript,
    SelectionType,
    Task,
    Variable,
    Workflow,
)
from runyard.model.environment import TOPOLOGIES

_Element = etree._Element


def read_xml(text: str | bytes, source: str = "<string>") -> tuple[Workflow, list[Problem]]:
    """Parse a job XML document; raises ``WorkflowFormatError`` only if it is not well-formed XML
    or not a ``<job>``; everything else wrong is returned as problems next to the workflow."""
    root = parse_document(text, source)
    if _local(root) != "job" or not _ours(root):
        raise WorkflowFormatError(
            [Problem(f"not a ProActive job: root element is <{root.tag}>", source, _line(root))]
        )
    reader = _Reader(source)
    workflow = reader.job(root)
    workflow.source = source
    return workflow, reader.problems


def parse_document(text: str | bytes, source: str) -> _Element:
    """The root element; no entity is expanded, nothing is fetched, and ``runyard.formats.limits``
    holds (libxml2's own ceilings, without ``huge_tree``, are the first guard)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    reason = limits.too_large(len(data))
    if reason is not None:
        raise WorkflowFormatError([Problem(reason, source)])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        reason = error.msg.split(", line ")[0]
        if reason.startswith("Excessive depth"):  # libxml2's ceiling, below which ours is checked
            raise WorkflowFormatError([Problem(limits.too_deep(), source, line)]) from None
        raise WorkflowFormatError(
            [Problem(f"column {column}: malformed XML: {reason}", source, line)]
        ) from None
    _check_size(root, source)
    return root


def _check_size(root: _Element, source: str) -> None:
    depth = elements = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > limits.MAX_DEPTH:
            raise WorkflowFormatError([Problem(limits.too_deep(), source, _line(element))])
        if elements > limits.MAX_NODES:
            raise WorkflowFormatError([Problem(limits.too_many("elements"), source, _line(element))])


def _line(element: _Element) -> int:
    line: int | None = element.sourceline  # type: ignore[assignment]  # lxml-stubs types it badly
    return line or 0


def _local(element: _Element) -> str:
    return etree.QName(element).localname


def _ours(element: _Element) -> bool:
    namespace = etree.QName(element).namespace
    return namespace is None or namespace.startswith(xv.NAMESPACE_PREFIX)


def _text(element: _Element) -> str:
    return str(element.xpath("string()"))


def _inner_xml(element: _Element) -> str:
    """Content of ``element`` as XML text, with the job namespace removed (``<metadata>``)."""
    clone = copy.deepcopy(element)
    for node in clone.iter():
        if isinstance(node.tag, str) and _ours(node):
            node.tag = _local(node)
    etree.cleanup_namespaces(clone)
    parts = [html.escape(clone.text or "", quote=False)]
    parts += [etree.tostring(child, encoding="unicode", with_tail=True) for child in clone]
    return "".join(parts)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.locations: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------------------

    def problem(self, element: _Element, message: str, task: str | None = None) -> None:
        self.problems.append(Problem(message, self.source, _line(element), task))

    def children(self, element: _Element, task: str | None = None) -> Iterator[tuple[str, _Element]]:
        """Child elements of ours as (local name, element); foreign ones are reported."""
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if _ours(child):
                yield _local(child), child
            else:
                self.problem(child, f"unknown element <{child.tag}> in <{_local(element)}>", task)

    def unknown(self, element: _Element, child: _Element, task: str | None = None) -> None:
        self.problem(child, f"unknown element <{_local(child)}> in <{_local(element)}>", task)

    def attributes(self, element: _Element, allowed: set[str], task: str | None = None) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in element.attrib.items():
            qname = etree.QName(name)
            if qname.namespace is not None:
                continue  # xsi:schemaLocation and friends
            if qname.localname in allowed:
                values[qname.localname] = value
            else:
                self.problem(element, f"unknown attribute '{qname.localname}' on <{_local(element)}>", task)
        return values

    def boolean(self, element: _Element, name: str, value: str, task: str | None) -> bool | None:
        lowered = value.strip().lower()
        if lowered in xv.TRUE_VALUES:
            return True
        if lowered in xv.FALSE_VALUES:
            return False
        self.problem(element, f"{name}={value!r} is not a boolean (true or false)", task)
        return None

    def integer(self, element: _Element, name: str, value: str, task: str | None) -> int | None:
        try:
            return int(value.strip())
        except ValueError:
            self.problem(element, f"{name}={value!r} is not an integer", task)
            return None

    def integer_or_reference(self, element: _Element, name: str, value: str, task: str) -> int | str | None:
        """An integer, or a text referring to variables kept as it is: ProActive substitutes such an
        attribute (``numberOfNodes="${NODES}"``) at submission, then parses it."""
        return value if "$" in value else self.integer(element, name, value, task)

    # -- job -----------------------------------------------------------------------------------

    def job(self, root: _Element) -> Workflow:
        allowed = {"name", "tags", "cancelJobOnError"} | {a for _, a in xv.JOB_TEXT_ATTRIBUTES}
        attrs = self.attributes(root, allowed)
        if "name" not in attrs:
            self.problem(root, "the job has no 'name' attribute")
        workflow = Workflow(name=attrs.get("name", ""))
        self.locations[locations.JOB] = _line(root)
        for field_name, attribute in xv.JOB_TEXT_ATTRIBUTES:
            if attribute in attrs:
                setattr(workflow, field_name, _number_or_text(field_name, attrs[attribute]))
        if "tags" in attrs:
            workflow.tags = [t.strip() for t in attrs["tags"].split(",") if t.strip()]
        if "cancelJobOnError" in attrs and workflow.on_task_error is None:
            workflow.on_task_error = self.legacy_cancel(root, attrs["cancelJobOnError"], None)
        spaces = {xml: name for name, xml in xv.JOB_SPACES}
        for name, child in self.children(root):
            if name == "variables":
                workflow.variables = self.variables(child, None)
            elif name == "description":
                workflow.description = _text(child).strip()
            elif name == "genericInformation":
                workflow.generic_information = self.generic_information(child, None)
            elif name in spaces:
                url = self.attributes(child, {"url"}).get("url")
                if url is None:
                    self.problem(child, f"<{name}> has no 'url' attribute")
                setattr(workflow, spaces[name], url or "")
            elif name == "taskFlow":
                workflow.tasks = [self.task(t) for n, t in self.children(child) if self.is_task(child, n, t)]
            elif name == "metadata":
                workflow.metadata = _inner_xml(child)
            else:
                self.unknown(root, child)
        workflow.locations = self.locations
        return workflow

    def legacy_cancel(self, element: _Element, value: str, task: str | None) -> str | None:
        """Schema 3.3's ``cancelJobOnError="true"`` is today's ``onTaskError="cancelJob"``."""
        return "cancelJob" if self.boolean(element, "cancelJobOnError", value, task) else None

    def is_task(self, parent: _Element, name: str, element: _Element) -> bool:
        if name != "task":
            self.unknown(parent, element)
        return name == "task"

    def variables(self, element: _Element, task: str | None) -> list[Variable]:
        """The variables declared; a name declared again replaces the earlier declaration in its
        place, as ProActive's job factory does (it fills an ordered map)."""
        allowed = {"name", "value", "model", "description", "group", "advanced", "hidden"}
        if task is not None:
            allowed.add("inherited")
        result: dict[str, Variable] = {}
        for name, child in self.children(element, task):
            if name != "variable":
                self.unknown(element, child, task)
                continue
            attrs = self.attributes(child, allowed, task)
            variable = Variable(
                name=attrs.get("name", ""),
                value=attrs.get("value", ""),
                model=attrs.get("model"),
                description=attrs.get("description"),
                group=attrs.get("group"),
            )
            for flag in ("advanced", "hidden", "inherited"):
                if flag in attrs:
                    setattr(variable, flag, bool(self.boolean(child, flag, attrs[flag], task)))
            key = locations.variable_key(variable.name, task)
            self.locations[key] = _line(child)
            result[variable.name] = variable
        return list(result.values())

    def generic_information(self, element: _Element, task: str | None) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, child in self.children(element, task):
            if name != "info":
                self.unknown(element, child, task)
                continue
            attrs = self.attributes(child, {"name", "value"}, task)
            result[attrs.get("name", "")] = attrs.get("value", "")
        return result

    # -- task ----------------------------------------------------------------------------------

    def task(self, element: _Element) -> Task:
        allowed = {"name", "cancelJobOnError"}
        allowed |= {a for _, a in xv.TASK_TEXT_ATTRIBUTES} | {a for _, a in xv.TASK_BOOL_ATTRIBUTES}
        attrs = self.attributes(element, allowed, element.get("name"))
        task = Task(name=attrs.get("name", ""), reference=element.get(xv.REFERENCE_ATTRIBUTE))
        name = task.name
        if "name" not in attrs:
            self.problem(element, "a task has no 'name' attribute")
        self.locations.setdefault(locations.task_key(name), _line(element))
        self.task_attributes(element, task, attrs)
        for tag, child in self.children(element, name):
            self.task_child(task, tag, child)
        return task

    def task_attributes(self, element: _Element, task: Task, attrs: dict[str, str]) -> None:
        for field_name, attribute in xv.TASK_TEXT_ATTRIBUTES:
            if attribute not in attrs:
                continue
            value = attrs[attribute]
            if field_name == "number_of_nodes":
                task.number_of_nodes = self.integer_or_reference(element, attribute, value, task.name)
            else:
                setattr(task, field_name, _number_or_text(field_name, value))
        for field_name, attribute in xv.TASK_BOOL_ATTRIBUTES:
            if attribute in attrs:
                flag = self.boolean(element, attribute, attrs[attribute], task.name)
                if flag is not None:
                    setattr(task, field_name, flag)
        if "cancelJobOnError" in attrs and task.on_task_error is None:
            task.on_task_error = self.legacy_cancel(element, attrs["cancelJobOnError"], task.name)

    def task_child(self, task: Task, tag: str, child: _Element) -> None:
        name = task.name
        if tag == "description":
            task.description = _text(child).strip()
        elif tag == "variables":
            task.variables = self.variables(child, name)
        elif tag == "genericInformation":
            task.generic_information = self.generic_information(child, name)
        elif tag == "depends":
            self.locations[locations.field_key(name, "depends")] = _line(child)
            task.depends = self.depends(child, name)
        elif tag in ("inputFiles", "outputFiles"):
            selectors = self.files(child, name)
            if tag == "inputFiles":
                task.input_files = selectors
            else:
                task.output_files = selectors
        elif tag == "parallel":
            task.parallel = self.parallel(child, name)
        elif tag == "selection":
            task.selection = self.selection(child, name)
        elif tag == "forkEnvironment":
            task.fork_environment = self.fork_environment(child, name)
        elif tag in ("pre", "post", "cleaning"):
            setattr(task, tag, self.script_holder(child, name))
        elif tag in ("scriptExecutable", "nativeExecutable", "javaExecutable"):
            if task.executable is not None:
                self.problem(child, "a task has only one executable", name)
            self.locations[locations.field_key(name, "executable")] = _line(child)
            task.executable = self.executable(tag, child, task)
        elif tag == "controlFlow":
            self.locations[locations.field_key(name, "control_flow")] = _line(child)
            task.control_flow = self.control_flow(child, name)
        elif tag == "metadata":
            task.metadata = _inner_xml(child)
        else:
            self.problem(child, f"unknown element <{tag}> in <task>", name)

    def depends(self, element: _Element, task: str) -> list[str]:
        refs = []
        for name, child in self.children(element, task):
            if name != "task":
                self.unknown(element, child, task)
                continue
            ref = self.attributes(child, {"ref"}, task).get("ref")
            if ref is None:
                self.problem(child, "a dependency has no 'ref' attribute", task)
            else:
                refs.append(ref)
        return refs

    def files(self, element: _Element, task: str) -> list[FileSelector]:
        selectors = []
        for name, child in self.children(element, task):
            if name != "files":
                self.unknown(element, child, task)
                continue
            attrs = self.attributes(child, {"includes", "excludes", "accessMode"}, task)
            selectors.append(
                FileSelector(
                    includes=split_patterns(attrs.get("includes", "")),
                    excludes=split_patterns(attrs.get("excludes", "")),
                    access_mode=attrs.get("accessMode", "none"),
                )
            )
        return selectors

    def parallel(self, element: _Element, task: str) -> Parallel:
        attrs = self.attributes(element, {"numberOfNodes"}, task)
        nodes = self.integer_or_reference(element, "numberOfNodes", attrs.get("numberOfNodes", ""), task)
        parallel = Parallel(number_of_nodes=nodes or 0)
        for name, child in self.children(element, task):
            if name != "topology":
                self.unknown(element, child, task)
                continue
            for kind, topology in self.children(child, task):
                if kind not in TOPOLOGIES:
                    self.unknown(child, topology, task)
                    continue
                parallel.topology = kind
                threshold = self.attributes(topology, {"threshold"}, task).get("threshold")
                if threshold is not None:
                    parallel.threshold = self.integer(topology, "threshold", threshold, task)
        return parallel

    def selection(self, element: _Element, task: str) -> list[SelectionScript]:
        scripts = []
        for name, child in self.children(element, task):
            if name != "script":
                self.unknown(element, child, task)
                continue
            kind = self.attributes(child, {"type"}, task).get("type", "dynamic")
            if kind not in (SelectionType.STATIC, SelectionType.DYNAMIC):
                self.problem(child, f"selection script type {kind!r} is not 'static' or 'dynamic'", task)
                kind = SelectionType.DYNAMIC
            scripts.append(SelectionScript(self.script(child, task), SelectionType(kind)))
        return scripts

    def fork_environment(self, element: _Element, task: str) -> ForkEnvironment:
        attrs = self.attributes(element, {"workingDir", "javaHome"}, task)
        fork = ForkEnvironment(working_dir=attrs.get("workingDir"), java_home=attrs.get("javaHome"))
        for name, child in self.children(element, task):
            if name == "SystemEnvironment":
                fork.system_environment = [self.environment_variable(v, task) for v in child]
            elif name == "jvmArgs":
                fork.jvm_args = [self.attributes(a, {"value"}, task).get("value", "") for a in child]
            elif name == "additionalClasspath":
                fork.additional_classpath = [
                    self.attributes(p, {"path"}, task).get("path", "") for p in child
                ]
            elif name == "envScript":
                fork.env_script = self.script_holder(child, task)
            else:
                self.unknown(element, child, task)
        return fork

    def environment_variable(self, element: _Element, task: str) -> EnvironmentVariable:
        attrs = self.attributes(element, {"name", "value", "append", "appendChar"}, task)
        variable = EnvironmentVariable(attrs.get("name", ""), attrs.get("value", ""))
        if "append" in attrs:
            variable.append = bool(self.boolean(element, "append", attrs["append"], task))
        variable.append_char = attrs.get("appendChar")
        return variable

    # -- scripts and executables ---------------------------------------------------------------

    def script_holder(self, element: _Element, task: str) -> Script:
        """A ``<pre>``-like element holding one ``<script>``."""
        scripts = [child for name, child in self.children(element, task) if name == "script"]
        if len(scripts) != 1:
            self.problem(element, f"<{_local(element)}> must hold exactly one <script>", task)
            return Script()
        return self.script(scripts[0], task)

    def script(self, element: _Element, task: str) -> Script:
        script = Script()
        bodies = 0
        for name, child in self.children(element, task):
            if name == "code":
                bodies += 1
                script.language = self.attributes(child, {"language"}, task).get("language")
                script.code = normalize_code(_text(child))
            elif name == "file":
                bodies += 1
                attrs = self.attributes(child, {"path", "url", "language"}, task)
                script.file, script.url, script.language = (
                    attrs.get("path"),
                    attrs.get("url"),
                    attrs.get("language"),
                )
                if (script.file is None) == (script.url is None):
                    self.problem(child, "<file> needs exactly one of 'path' or 'url'", task)
                script.arguments = self.arguments(child, task, nested=True)
            elif name == "arguments":
                script.arguments = self.argument_values(child, task)
            else:
                self.unknown(element, child, task)
        if bodies != 1:
            self.problem(element, "a <script> needs exactly one <code> or <file>", task)
        return script

    def arguments(self, element: _Element, task: str, nested: bool) -> list[str]:
        values: list[str] = []
        for name, child in self.children(element, task):
            if name == "arguments":
                values = self.argument_values(child, task)
            elif nested:
                self.unknown(element, child, task)
        return values

    def argument_values(self, element: _Element, task: str) -> list[str]:
        values = []
        for name, child in self.children(element, task):
            if name == "argument":
                values.append(self.attributes(child, {"value"}, task).get("value", ""))
            else:
                self.unknown(element, child, task)
        return values

    def executable(self, tag: str, element: _Element, task: Task) -> Executable:
        if tag == "scriptExecutable":
            return ScriptExecutable(self.script_holder(element, task.name))
        if tag == "nativeExecutable":
            return self.native(element, task.name)
        return self.java(element, task)

    def native(self, element: _Element, task: str) -> NativeExecutable:
        native = NativeExecutable(command="")
        commands = 0
        for name, child in self.children(element, task):
            if name != "staticCommand":
                self.unknown(element, child, task)
                continue
            commands += 1
            attrs = self.attributes(child, {"value", "workingDir"}, task)
            native.command = attrs.get("value", "")
            native.working_dir = attrs.get("workingDir")
            native.arguments = self.arguments(child, task, nested=True)
        if commands != 1:
            self.problem(element, "<nativeExecutable> needs exactly one <staticCommand>", task)
        return native

    def java(self, element: _Element, task: Task) -> JavaExecutable:
        attrs = self.attributes(element, {"class"}, task.name)
        java = JavaExecutable(class_name=attrs.get("class", ""))
        for name, child in self.children(element, task.name):
            if name == "parameters":
                for parameter in child:
                    values = self.attributes(parameter, {"name", "value"}, task.name)
                    java.parameters[values.get("name", "")] = values.get("value", "")
            elif name == "forkEnvironment" and task.fork_environment is None:
                task.fork_environment = self.fork_environment(child, task.name)  # schema 3.x place
            else:
                self.unknown(element, child, task.name)
        return java

    def control_flow(self, element: _Element, task: str) -> ControlFlow:
        block = self.attributes(element, {"block"}, task).get("block", "none")
        flow = ControlFlow()
        if block in tuple(Block):
            flow.block = Block(block)
        else:
            self.problem(element, f"block={block!r} is not 'start', 'end' or 'none'", task)
        for name, child in self.children(element, task):
            if flow.action is not None:
                self.problem(child, "<controlFlow> holds at most one of <if>, <loop>, <replicate>", task)
            flow.action = self.flow_action(element, name, child, task)
        return flow

    def flow_action(self, parent: _Element, name: str, element: _Element, task: str) -> FlowAction | None:
        allowed = {"if": {"target", "else", "continuation"}, "loop": {"target"}, "replicate": set[str]()}
        if name not in allowed:
            self.unknown(parent, element, task)
            return None
        attrs = self.attributes(element, allowed[name], task)
        script = self.script_holder(element, task)
        if name == "if":
            continuation = attrs.get("continuation") or None
            return IfAction(attrs.get("target", ""), attrs.get("else", ""), continuation, script)
        if name == "loop":
            return LoopAction(attrs.get("target", ""), script)
        return ReplicateAction(script)


def _number_or_text(field_name: str, value: str) -> int | str:
    if field_name in xv.INTEGER_FIELDS and value.strip().isdigit():
        return int(value.strip())
    return value


def split_patterns(value: str) -> list[str]:
    """Comma-separated glob patterns; commas inside ``{a,b}`` alternatives do not split."""
    patterns, current, depth = [], "", 0
    for char in value:
        if char == "," and depth == 0:
            patterns.append(current)
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    patterns.append(current)
    return [p.strip() for p in patterns if p.strip()]

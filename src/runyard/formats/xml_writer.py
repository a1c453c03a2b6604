"""Model → ProActive job XML, namespace 3.14, children in the order of the XSD (reference §1.1, §1.4)."""

from __future__ import annotations

from lxml import etree

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats import xml_vocabulary as xv
from runyard.model import (
    Block,
    ControlFlow,
    FileSelector,
    ForkEnvironment,
    IfAction,
    JavaExecutable,
    LoopAction,
    NativeExecutable,
    Parallel,
    Script,
    ScriptExecutable,
    SelectionType,
    Task,
    Variable,
    Workflow,
)

_Element = etree._Element


def write_xml(workflow: Workflow) -> str:
    """The workflow as a ProActive job XML document."""
    namespaces = {None: xv.NAMESPACE, "xsi": xv.XSI}
    if any(task.reference is not None for task in workflow.tasks):
        namespaces["runyard"] = xv.RUNYARD_NAMESPACE
    root = etree.Element(_tag("job"), nsmap=namespaces)  # type: ignore[arg-type]
    root.set(f"{{{xv.XSI}}}schemaLocation", xv.SCHEMA_LOCATION)
    root.set("name", workflow.name)
    _text_attributes(root, workflow, xv.JOB_TEXT_ATTRIBUTES)
    if workflow.tags:
        root.set("tags", ",".join(workflow.tags))
    _variables(root, workflow.variables, task_level=False)
    _description(root, workflow.description)
    _generic_information(root, workflow.generic_information)
    for field_name, tag in xv.JOB_SPACES:
        url = getattr(workflow, field_name)
        if url is not None:
            _child(root, tag, url=url)
    flow = _child(root, "taskFlow")
    metadata: list[tuple[_Element, str]] = []
    for task in workflow.tasks:
        _task(flow, task, metadata)
    if workflow.metadata is not None:
        metadata.append((_child(root, "metadata"), workflow.metadata))
    etree.indent(root, space="  ")
    for element, raw in metadata:  # after indenting, so that raw metadata is kept as it is
        _fill_metadata(element, raw)
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _tag(name: str) -> str:
    return f"{{{xv.NAMESPACE}}}{name}"


def _child(parent: _Element, tag: str, /, **attributes: str) -> _Element:
    element = etree.SubElement(parent, _tag(tag))
    for key, value in attributes.items():
        element.set(key, value)
    return element


def _cdata(element: _Element, text: str) -> None:
    element.text = etree.CDATA(text) if "]]>" not in text else text


def _text_attributes(element: _Element, holder: object, names: tuple[tuple[str, str], ...]) -> None:
    for field_name, attribute in names:
        value = getattr(holder, field_name)
        if value is not None:
            element.set(attribute, str(value))


def _description(parent: _Element, description: str | None) -> None:
    if description is not None:
        _cdata(_child(parent, "description"), description)


def _variables(parent: _Element, variables: list[Variable], task_level: bool) -> None:
    if not variables:
        return
    holder = _child(parent, "variables")
    for variable in variables:
        element = _child(holder, "variable", name=variable.name, value=variable.value)
        for attribute in ("model", "description", "group"):
            value = getattr(variable, attribute)
            if value is not None:
                element.set(attribute, value)
        flags = ("advanced", "hidden", "inherited") if task_level else ("advanced", "hidden")
        for flag in flags:
            if getattr(variable, flag):
                element.set(flag, "true")


def _generic_information(parent: _Element, information: dict[str, str]) -> None:
    if information:
        holder = _child(parent, "genericInformation")
        for name, value in information.items():
            _child(holder, "info", name=name, value=value)


def _task(flow: _Element, task: Task, metadata: list[tuple[_Element, str]]) -> None:
    element = _child(flow, "task", name=task.name)
    if task.reference is not None:
        element.set(xv.REFERENCE_ATTRIBUTE, task.reference)
    _text_attributes(element, task, xv.TASK_TEXT_ATTRIBUTES)
    for field_name, attribute in xv.TASK_BOOL_ATTRIBUTES:
        value = getattr(task, field_name)
        if value is not None and (value or field_name == "fork"):
            element.set(attribute, "true" if value else "false")
    _description(element, task.description)
    _variables(element, task.variables, task_level=True)
    _generic_information(element, task.generic_information)
    if task.depends:
        depends = _child(element, "depends")
        for ref in task.depends:
            _child(depends, "task", ref=ref)
    _files(element, "inputFiles", task.input_files)
    if task.parallel is not None:
        _parallel(element, task.parallel)
    if task.selection:
        selection = _child(element, "selection")
        for selection_script in task.selection:
            script = _script(selection, selection_script.script)
            if selection_script.type is SelectionType.STATIC:
                script.set("type", "static")
    if task.fork_environment is not None:
        _fork_environment(element, task.fork_environment)
    _script_holder(element, "pre", task.pre)
    _executable(element, task)
    if task.control_flow is not None:
        _control_flow(element, task.control_flow)
    _script_holder(element, "post", task.post)
    _script_holder(element, "cleaning", task.cleaning)
    _files(element, "outputFiles", task.output_files)
    if task.metadata is not None:
        metadata.append((_child(element, "metadata"), task.metadata))


def _files(parent: _Element, tag: str, selectors: list[FileSelector]) -> None:
    if not selectors:
        return
    holder = _child(parent, tag)
    for selector in selectors:
        element = _child(holder, "files", includes=",".join(selector.includes))
        if selector.excludes:
            element.set("excludes", ",".join(selector.excludes))
        element.set("accessMode", selector.access_mode)


def _parallel(parent: _Element, parallel: Parallel) -> None:
    element = _child(parent, "parallel", numberOfNodes=str(parallel.number_of_nodes))
    if parallel.topology is not None:
        topology = _child(_child(element, "topology"), parallel.topology)
        if parallel.threshold is not None:
            topology.set("threshold", str(parallel.threshold))


def _fork_environment(parent: _Element, fork: ForkEnvironment) -> None:
    element = _child(parent, "forkEnvironment")
    if fork.working_dir is not None:
        element.set("workingDir", fork.working_dir)
    if fork.java_home is not None:
        element.set("javaHome", fork.java_home)
    if fork.system_environment:
        holder = _child(element, "SystemEnvironment")
        for variable in fork.system_environment:
            entry = _child(holder, "variable", name=variable.name, value=variable.value)
            if variable.append:
                entry.set("append", "true")
            if variable.append_char is not None:
                entry.set("appendChar", variable.append_char)
    if fork.jvm_args:
        holder = _child(element, "jvmArgs")
        for argument in fork.jvm_args:
            _child(holder, "jvmArg", value=argument)
    if fork.additional_classpath:
        holder = _child(element, "additionalClasspath")
        for path in fork.additional_classpath:
            _child(holder, "pathElement", path=path)
    _script_holder(element, "envScript", fork.env_script)


def _script_holder(parent: _Element, tag: str, script: Script | None) -> None:
    if script is not None:
        _script(_child(parent, tag), script)


def _arguments(parent: _Element, arguments: list[str]) -> None:
    if arguments:
        holder = _child(parent, "arguments")
        for argument in arguments:
            _child(holder, "argument", value=argument)


def _script(parent: _Element, script: Script) -> _Element:
    element = _child(parent, "script")
    if script.code is not None or (script.file is None and script.url is None):
        code = _child(element, "code")
        if script.language is not None:
            code.set("language", script.language)
        text = script.code or ""
        _cdata(code, f"\n{text}\n" if "\n" in text else text)
        _arguments(element, script.arguments)
        return element
    file = _child(element, "file")
    if script.file is not None:
        file.set("path", script.file)
    if script.url is not None:
        file.set("url", script.url)
    if script.language is not None:
        file.set("language", script.language)
    _arguments(file, script.arguments)
    return element


def _executable(parent: _Element, task: Task) -> None:
    executable = task.executable
    if isinstance(executable, ScriptExecutable):
        _script_holder(parent, "scriptExecutable", executable.script)
    elif isinstance(executable, NativeExecutable):
        command = _child(_child(parent, "nativeExecutable"), "staticCommand", value=executable.command)
        if executable.working_dir is not None:
            command.set("workingDir", executable.working_dir)
        _arguments(command, executable.arguments)
    elif isinstance(executable, JavaExecutable):
        java = _child(parent, "javaExecutable")
        java.set("class", executable.class_name)
        if executable.parameters:
            holder = _child(java, "parameters")
            for name, value in executable.parameters.items():
                _child(holder, "parameter", name=name, value=value)


def _control_flow(parent: _Element, flow: ControlFlow) -> None:
    element = _child(parent, "controlFlow")
    if flow.block is not Block.NONE:
        element.set("block", flow.block.value)
    action = flow.action
    if isinstance(action, IfAction):
        branch = _child(element, "if", target=action.target)
        branch.set("else", action.else_target)
        if action.continuation is not None:
            branch.set("continuation", action.continuation)
    elif isinstance(action, LoopAction):
        branch = _child(element, "loop", target=action.target)
    elif action is not None:
        branch = _child(element, "replicate")
    if action is not None:
        _script(branch, action.script)


def _fill_metadata(element: _Element, raw: str) -> None:
    """Put raw metadata XML back, its plain elements in the job namespace."""
    try:
        holder = etree.fromstring(f"<metadata>{raw}</metadata>", etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as error:
        raise WorkflowFormatError([Problem(f"metadata is not well-formed XML: {error.msg}")]) from None
    for node in holder.iter():
        if isinstance(node.tag, str) and etree.QName(node).namespace is None:
            node.tag = _tag(etree.QName(node).localname)
    element.text = holder.text
    for child in holder:
        element.append(child)

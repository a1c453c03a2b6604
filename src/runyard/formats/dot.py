"""Graphviz dot of a workflow's task graph: dependencies and control-flow links."""

from __future__ import annotations

from runyard.model import Block, IfAction, LoopAction, ReplicateAction, Workflow


def dump_dot(workflow: Workflow) -> str:
    """A ``digraph`` with an arrow from each task to the tasks that depend on it, dashed arrows
    for ``if`` / ``else`` / ``continuation``, a back arrow for ``loop`` and ``replicate``
    labels on the replicated dependencies."""
    lines = [f"digraph {_quote(workflow.name)} {{", "  node [shape=box];"]
    for task in workflow.tasks:
        block = task.control_flow.block if task.control_flow is not None else Block.NONE
        label = task.name if block is Block.NONE else f"{task.name}\n(block {block.value})"
        lines.append(f"  {_quote(task.name)} [label={_quote(label)}];")
    replicators = {
        task.name
        for task in workflow.tasks
        if task.control_flow is not None and isinstance(task.control_flow.action, ReplicateAction)
    }
    for task in workflow.tasks:
        for parent in task.depends:
            style = ' [label="replicate", style=bold]' if parent in replicators else ""
            lines.append(f"  {_quote(parent)} -> {_quote(task.name)}{style};")
        action = task.control_flow.action if task.control_flow is not None else None
        if isinstance(action, IfAction):
            links = [("if", action.target), ("else", action.else_target)]
            links += [("continuation", action.continuation)] if action.continuation else []
            for label, target in links:
                lines.append(f'  {_quote(task.name)} -> {_quote(target)} [label="{label}", style=dashed];')
        elif isinstance(action, LoopAction):
            loop = '[label="loop", style=dashed, constraint=false]'
            lines.append(f"  {_quote(task.name)} -> {_quote(action.target)} {loop};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'

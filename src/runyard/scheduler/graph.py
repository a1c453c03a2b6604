"""Static shape of a workflow's task graph: effective dependencies and control-flow blocks.

ProActive adds dependencies that the XML does not spell out: the ``if`` and ``else`` targets
depend on the task holding the ``if``, and the continuation depends on the end of both
branches. Blocks (``block="start"`` … ``block="end"``) are what loop and replicate copy.
"""

from __future__ import annotations

from functools import cached_property

from runyard.model import Block, IfAction, LoopAction, ReplicateAction, Task, Workflow


class Graph:
    """Dependencies and blocks of one workflow, computed once per job."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.tasks: dict[str, Task] = {t.name: t for t in workflow.tasks}

    def block(self, name: str) -> Block:
        flow = self.tasks[name].control_flow
        return flow.block if flow is not None else Block.NONE

    def if_action(self, name: str) -> IfAction | None:
        flow = self.tasks[name].control_flow
        return flow.action if flow is not None and isinstance(flow.action, IfAction) else None

    def loop_action(self, name: str) -> LoopAction | None:
        flow = self.tasks[name].control_flow
        return flow.action if flow is not None and isinstance(flow.action, LoopAction) else None

    def replicate_action(self, name: str) -> ReplicateAction | None:
        flow = self.tasks[name].control_flow
        return flow.action if flow is not None and isinstance(flow.action, ReplicateAction) else None

    @cached_property
    def depends(self) -> dict[str, list[str]]:
        """Explicit dependencies plus the implicit ones of ``if`` (ordered, no duplicates)."""
        deps = {name: list(task.depends) for name, task in self.tasks.items()}
        ifs = [(name, action) for name in self.tasks if (action := self.if_action(name)) is not None]
        for name, action in ifs:
            for target in (action.target, action.else_target):
                _append(deps[target], name)
        for _, action in ifs:
            if action.continuation is not None:
                for target in (action.target, action.else_target):
                    _append(deps[action.continuation], self.matching_end(target))
        return deps

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {name: [] for name in self.tasks}
        for name, deps in self.depends.items():
            for parent in deps:
                if parent in children:
                    children[parent].append(name)
        return children

    @cached_property
    def _explicit_children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {name: [] for name in self.tasks}
        for name, task in self.tasks.items():
            for parent in task.depends:
                if parent in children:
                    children[parent].append(name)
        return children

    def children(self, name: str) -> list[str]:
        """Tasks that depend on ``name`` (effective dependencies)."""
        return self._children[name]

    def matching_end(self, start: str) -> str:
        """The block end closing the block opened by ``start`` (``start`` itself if no block)."""
        depth = 0
        current = start
        seen: set[str] = set()
        while current not in seen:
            seen.add(current)
            block = self.block(current)
            if block is Block.START:
                depth += 1
            elif block is Block.END:
                depth -= 1
            if depth <= 0:
                return current
            current_if = self.if_action(current)
            if current_if is not None and current_if.continuation is not None:
                nxt = [current_if.continuation]
            else:
                nxt = self._explicit_children[current]
            if not nxt:
                break
            current = nxt[0]
        return start

    def members(self, start: str, end: str) -> set[str]:
        """Every task on a path from ``start`` to ``end`` (both included)."""
        down = self._reachable(start, forward=True)
        up = self._reachable(end, forward=False)
        return (down & up) | {start, end}

    def _reachable(self, origin: str, *, forward: bool) -> set[str]:
        found: set[str] = set()
        stack = [origin]
        while stack:
            current = stack.pop()
            nxt = self.children(current) if forward else self.depends[current]
            for name in nxt:
                if name not in found:
                    found.add(name)
                    stack.append(name)
        return found

    def replicated_block(self, initiator: str) -> set[str]:
        """What a replicate on ``initiator`` copies: its child, or the block the child opens."""
        targets = self._explicit_children[initiator]
        members: set[str] = set()
        for target in targets:
            members |= self.members(target, self.matching_end(target))
        return members

    def branch_block(self, target: str) -> set[str]:
        return self.members(target, self.matching_end(target))


def _append(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)

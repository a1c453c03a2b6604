"""The studio's edits of a draft (the mapping form), without a browser."""

from __future__ import annotations

from runyard.web import drafts


def _draft() -> drafts.Draft:
    return {
        "name": "W",
        "variables": {"N": "1", "M": {"value": "x", "model": "PA:String"}},
        "tasks": {
            "A": {"script": {"cpython": "branch = 'if'"}, "flow": {"if": {"target": "B", "else": "C"}}},
            "B": {"depends": ["A"], "script": {"language": "bash", "code": "echo", "arguments": ["1"]}},
            "C": {"depends": ["A"], "native": "date"},
        },
    }


def test_a_rename_follows_dependencies_and_control_flow_in_order() -> None:
    draft = _draft()
    drafts.rename_task(draft, "B", "Beta")
    assert list(draft["tasks"]) == ["A", "Beta", "C"]
    assert draft["tasks"]["A"]["flow"]["if"] == {"target": "Beta", "else": "C"}
    drafts.rename_task(draft, "A", "Alpha")
    assert draft["tasks"]["C"]["depends"] == ["Alpha"]


def test_a_removed_task_leaves_no_dependency_and_a_new_name_is_numbered() -> None:
    draft = _draft()
    drafts.remove_task(draft, "A")
    assert "depends" not in draft["tasks"]["B"] and "depends" not in draft["tasks"]["C"]
    assert drafts.add_task(draft, "B", {}) == "B_2"


def test_scripts_and_variables_keep_what_forms_do_not_show() -> None:
    draft = _draft()
    task = draft["tasks"]["B"]
    assert drafts.script(task) == ("bash", "echo")
    drafts.set_script(task, "cpython", "print(1)")
    assert task["script"] == {"cpython": "print(1)", "arguments": ["1"]}
    assert drafts.script(draft["tasks"]["C"]) is None  # native: edited in the text
    assert drafts.variables(draft) == [("N", "1"), ("M", "x")]
    drafts.set_variables(draft, [("M", "y"), ("K", "2")])
    assert draft["variables"] == {"M": {"value": "y", "model": "PA:String"}, "K": "2"}
    drafts.set_variables(draft, [])
    assert "variables" not in draft


def test_control_flow_gets_a_script_and_forms_stop_at_duplicate_names() -> None:
    draft = _draft()
    task = draft["tasks"]["B"]
    drafts.set_flow(task, "start", "loop", {"target": "A"})
    assert task["flow"] == {"block": "start", "loop": {"target": "A", "script": {"cpython": "loop = False"}}}
    assert drafts.flow(task)[:2] == ("start", "loop")
    drafts.set_flow(task, "none", "none", {})
    assert "flow" not in task
    assert drafts.blocker(draft) is None
    assert drafts.blocker({"tasks": [{"name": "A"}, {"name": "A"}]}) is not None

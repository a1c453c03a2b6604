"""``${NAME}`` / ``$NAME`` substitution (ProActive's VariableSubstitutor rules)."""

from __future__ import annotations

import pytest

from runyard.errors import VariableValueError
from runyard.model.substitution import MAX_LENGTH, resolve, substitute


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mongodb-server-$PA_JOB_ID", "mongodb-server-42"),
        ("/tmp/$INSTANCE_NAME", "/tmp/mongo"),
        (
            "${PA_CATALOG_REST_URL}/buckets/service-automation/resources/Fetch_Logs/raw",
            "http://h:8080/catalog/buckets/service-automation/resources/Fetch_Logs/raw",
        ),
        ("${INSTANCE_NAME}_status", "mongo_status"),
        ("PSA_$INSTANCE_NAME", "PSA_mongo"),
        ("$INSTANCE_NAME/$PA_JOB_ID", "mongo/42"),
        ("no reference", "no reference"),
        ("", ""),
    ],
)
def test_braced_and_bare_references(text: str, expected: str) -> None:
    variables = {"PA_JOB_ID": "42", "INSTANCE_NAME": "mongo", "PA_CATALOG_REST_URL": "http://h:8080/catalog"}
    assert substitute(text, variables) == expected


def test_a_bare_name_takes_every_name_character_like_proactive() -> None:
    variables = {"PA_JOB_ID": "42", "A.b-c_1": "x"}
    assert substitute("$A.b-c_1!", variables) == "x!"
    # '-' and '.' are name characters: the bare name is 'PA_JOB_ID-x', unknown, so left as written.
    assert substitute("$PA_JOB_ID-x", variables) == "$PA_JOB_ID-x"
    assert substitute("${PA_JOB_ID}-x", variables) == "42-x"
    # A bare name ends at the first other character, '}' included, which stays.
    assert substitute("$PA_JOB_ID}", variables) == "42}"


def test_unknown_references_are_left_as_written() -> None:
    assert substitute("$NOPE and ${NOPE} and ${NOPE", {"A": "1"}) == "$NOPE and ${NOPE} and ${NOPE"


def test_shell_syntax_is_left_alone_unless_a_variable_has_that_name() -> None:
    text = 'echo $1 $$ $? $# $(date) ${#arr[@]} ${arr[0]} ${} $ "$@" $'
    assert substitute(text, {"A": "1", "HOME": "/home/me"}) == text
    assert substitute("cd $HOME; echo $1", {"HOME": "/h", "1": "one"}) == "cd /h; echo one"


def test_recursive_values() -> None:
    variables = {"A": "${B}/a", "B": "$C/b", "C": "c"}
    assert substitute("$A", variables) == "c/b/a"


def test_nested_reference_inside_a_braced_name() -> None:
    assert substitute("A_${foo.${SUFFIX}}_C", {"SUFFIX": "bar", "foo.bar": "B"}) == "A_B_C"
    assert substitute("${foo.${SUFFIX}}", {"SUFFIX": "nope"}) == "${foo.${SUFFIX}}"


@pytest.mark.parametrize(
    "variables",
    [
        {"A": "$A"},
        {"A": "x${B}", "B": "y$A"},
        {"A": "$B", "B": "$C", "C": "${A}"},
    ],
)
def test_cycles_stop_and_keep_the_looping_reference(variables: dict[str, str]) -> None:
    result = substitute("[$A]", variables)
    assert result.startswith("[") and result.endswith("]")
    assert "$A" in result or "${A}" in result


def test_cycle_result_exactly() -> None:
    assert substitute("$A", {"A": "x${B}", "B": "y$A"}) == "xy$A"
    assert substitute("$B", {"A": "x${B}", "B": "y$A"}) == "yx${B}"


def test_keys_are_also_reachable_upper_cased_with_dots_as_underscores() -> None:
    variables = {"foo.bar": "1", "my.Var-x": "2"}
    assert substitute("$FOO_BAR ${FOO_BAR} $foo.bar", variables) == "1 1 1"
    assert substitute("$MY_VAR-X", variables) == "2"


def test_an_exact_key_wins_over_an_alias() -> None:
    assert substitute("$FOO_BAR", {"FOO_BAR": "exact", "foo.bar": "alias"}) == "exact"
    assert substitute("$FOO_BAR", {"foo.bar": "alias", "FOO_BAR": "exact"}) == "exact"


def test_non_string_values_are_rendered() -> None:
    variables = {"N": 3, "F": 0.5, "T": True, "NO": False, "L": [1, 2], "NONE": None}
    assert substitute("$N $F $T $NO $L $NONE", variables) == "3 0.5 true false [1, 2] $NONE"


def test_rendered_values_are_substituted_too() -> None:
    class Text:
        def __str__(self) -> str:
            return "<$N>"

    assert substitute("$X", {"X": Text(), "N": 1}) == "<1>"


def test_multiplying_references_are_refused_with_a_clear_error() -> None:
    variables = {f"V{i}": f"$V{i + 1}$V{i + 1}" for i in range(30)} | {"V30": "x"}
    assert substitute("$V20", variables) == "x" * 1024
    with pytest.raises(VariableValueError, match=f"more than {MAX_LENGTH} characters"):
        substitute("$V0", variables)


def test_resolve_substitutes_job_variables_against_each_other() -> None:
    variables = {
        "INSTANCE_NAME": "mongodb-server-$PA_JOB_ID",
        "PA_JOB_ID": "7",
        "ENDPOINT": "http://host/${INSTANCE_NAME}",
        "PORT": 27017,
        "PATH": "$PATH:/opt/bin",
        "A": "$B",
        "B": "$A",
    }
    assert resolve(variables) == {
        "INSTANCE_NAME": "mongodb-server-7",
        "PA_JOB_ID": "7",
        "ENDPOINT": "http://host/mongodb-server-7",
        "PORT": 27017,
        "PATH": "$PATH:/opt/bin",
        "A": "$A",
        "B": "$B",
    }


def test_resolve_leaves_the_input_unchanged() -> None:
    variables = {"A": "$B", "B": "b"}
    assert resolve(variables) == {"A": "b", "B": "b"}
    assert variables == {"A": "$B", "B": "b"}

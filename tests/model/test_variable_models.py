"""Variable models: parsing ``PA:...`` model strings and checking values against them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone

import pytest

from runyard.errors import Problem, VariableValueError
from runyard.model.variable_models import (
    ModelKind,
    VariableModel,
    check_value,
    check_variables,
    parse_model,
    variable_field,
)
from runyard.model.variables import Variable


def accepts(model: str, value: str, credentials: Collection[str] | None = None) -> bool:
    return check_value("V", model, value, credentials=credentials) is None


# --- parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["PA:Boolean", "PA:BOOLEAN", "pa:boolean", "  PA:BoOlEaN  "])
def test_prefix_and_kind_are_case_insensitive(model: str) -> None:
    assert parse_model(model).kind is ModelKind.BOOLEAN


def test_parse_gives_kind_arguments_range_and_optional() -> None:
    assert parse_model("PA:Integer[1,10]") == VariableModel(
        ModelKind.INTEGER, (), 1, 10, False, "PA:Integer[1,10]"
    )
    assert parse_model("PA:LIST(a, b,c)").choices == ("a", "b", "c")
    assert parse_model("PA:FLOAT[-0.33,5.99]").minimum == -0.33
    assert parse_model("PA:INTEGER?").optional
    assert parse_model("PA:LIST(a,b)?").optional
    assert parse_model("PA:Long[5]") == VariableModel(ModelKind.LONG, (), 5, None, False, "PA:Long[5]")
    assert parse_model("PA:Short[,5]").maximum == 5
    assert parse_model("PA:Double[1.5,]").minimum == 1.5
    assert parse_model("PA:DATETIME(yyyy-MM-dd)[2014-01-01,2015-01-01]").minimum == datetime(2014, 1, 1)
    assert parse_model("PA:CATALOG_OBJECT(Workflow/psa,,,%Zookeeper)").arguments == (
        "Workflow/psa",
        "",
        "",
        "%Zookeeper",
    )
    assert parse_model("PA:LIST(a,b)").choices == ("a", "b")
    assert parse_model("PA:REGEXP(a,b)").choices == ()


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("PA:Integer[a,b]", "range bound 'a' is not an integer"),
        ("PA:Integer[10,1]", "minimum 10 is above its maximum 1"),
        ("PA:Integer[]", "should be [min,max]"),
        ("PA:Integer[1,2,3]", "should be [min,max]"),
        ("PA:Short[0,40000]", "range bound '40000' is not a short integer"),
        ("PA:Integer(5)", "INTEGER takes no arguments"),
        ("PA:Boolean[0,1]", "unexpected '[0,1]'"),
        ("PA:XYZ", "unknown kind 'XYZ'"),
        ("PA:Unchecked", "unknown kind 'Unchecked'"),
        ("PA:DYNAMIC", "unknown kind 'DYNAMIC'"),
        ("PA:", "no kind after 'PA:'"),
        ("PA:(a)", "no kind after 'PA:'"),
        ("PA:LIST", "LIST needs arguments"),
        ("PA:LIST(a,b,a)", "duplicate choice a"),
        ("PA:LIST(a,b", "unexpected '(a,b'"),
        ("PA:REGEXP([a-z)", "invalid regular expression"),
        ("PA:DATETIME", "DATETIME needs arguments"),
        ("PA:DATETIME(yyyy-QQ)", "date format letter 'Q' is not supported"),
        ("PA:DATETIME(yyyy-MM-dd)[2015-01-01,2014-01-01]", "above its maximum"),
        ("PA:DATETIME(yyyy-MM-dd)[tomorrow]", "range bound 'tomorrow' is not a date"),
        ("PA:DATETIME('yyyy)", "unclosed quote"),
        ("PA:CATALOG_OBJECT(a,b,c,d,e)", "at most kind, contentType, bucketName, objectName"),
        ("PA:NOT_EMPTY_STRING?", "cannot be optional"),
    ],
)
def test_malformed_models_raise_a_clear_error(model: str, reason: str) -> None:
    with pytest.raises(VariableValueError, match="malformed model") as raised:
        parse_model(model)
    assert reason in str(raised.value)
    assert model in str(raised.value)


@pytest.mark.parametrize("model", ["String", "NOT_EMPTY_STRING", "", "anything at all"])
def test_text_without_the_pa_prefix_is_accepted_without_check(model: str) -> None:
    parsed = parse_model(model)
    assert parsed.kind is ModelKind.UNCHECKED and not parsed.checked
    assert accepts(model, "whatever")


@pytest.mark.parametrize(
    "model",
    [
        "PA:MODEL_FROM_URL(${PA_SCHEDULER_REST_PUBLIC_URL}/rm/model/hosts)",
        "PA:SPEL(variables['ENGINE'].toLowerCase() == 'singularity' ? showVar('X') : hideVar('X'))",
        "PA:SPEL2(Bad value, variables['X'] != '')",
        "PA:USER_FILE",
        "PA:GLOBAL_FILE",
        "PA:USER_FOLDER",
        "PA:GLOBAL_FOLDER",
        "PA:Global_File?",
    ],
)
def test_server_side_kinds_are_accepted_without_check(model: str) -> None:
    assert not parse_model(model).checked
    assert accepts(model, "")
    assert accepts(model, "any value / at all")


# --- values --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "false", "TRUE", "False", "0", "1"])
def test_boolean_accepts(value: str) -> None:
    assert accepts("PA:Boolean", value)


@pytest.mark.parametrize("value", ["yes", "", "2", "t", " true"])
def test_boolean_rejects(value: str) -> None:
    assert not accepts("PA:Boolean", value)


@pytest.mark.parametrize(
    ("model", "good", "bad"),
    [
        (
            "PA:Integer",
            ["0", "-5", "+7", "2147483647", "-2147483648"],
            ["0.5", "", "1e3", " 5", "2147483648", "x"],
        ),
        ("PA:Short", ["32767", "-32768"], ["32768", "-32769"]),
        ("PA:Long", ["9223372036854775807"], ["9223372036854775808", "1.0"]),
        ("PA:Integer[1,10]", ["1", "10", "5"], ["0", "11", "-1"]),
        ("PA:Integer[5]", ["5", "999999"], ["4"]),
        ("PA:Integer[,5]", ["5", "-99"], ["6"]),
        (
            "PA:Float",
            ["1", "1.5", "-0.5", ".5", "1e-3", "2.5f", "3d", "NaN", "-Infinity", " 1.0 "],
            ["", "abc", "1,5", "inf", "1_000", "0x10"],
        ),
        ("PA:FLOAT[-0.33,5.99]", ["-0.33", "5.99", "0"], ["-0.34", "6"]),
        ("PA:Double[0.5,]", ["0.5", "1e300"], ["0.49"]),
    ],
)
def test_numbers_and_ranges(model: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert accepts(model, value), value
    for value in bad:
        assert not accepts(model, value), value


def test_number_messages_say_what_was_expected() -> None:
    assert str(check_value("RUNS", "PA:Integer[1,10]", "0.5")) == (
        "variable 'RUNS': '0.5' is not an integer (model PA:Integer[1,10])"
    )
    assert str(check_value("RUNS", "PA:Integer[1,10]", "11")) == (
        "variable 'RUNS': '11' is not in [1, 10] (model PA:Integer[1,10])"
    )
    assert "is below the minimum 5" in str(check_value("N", "PA:Integer[5]", "4"))
    assert "is above the maximum 5" in str(check_value("N", "PA:Integer[,5]", "6"))
    assert "is not a short integer (outside [-32768, 32767])" in str(check_value("N", "PA:Short", "40000"))


def test_strings() -> None:
    assert accepts("PA:STRING", "")
    assert accepts("PA:NOT_EMPTY_STRING", "x")
    assert accepts("PA:NOT_EMPTy_STRING", "x")
    assert not accepts("PA:NOT_EMPTY_STRING", "")
    assert not accepts("PA:NOT_EMPTY_STRING", "   ")
    assert "is empty" in str(check_value("N", "PA:NOT_EMPTY_STRING", ""))


def test_list() -> None:
    model = "PA:LIST(no-container,docker, podman,singularity)"
    assert accepts(model, "docker")
    assert accepts(model, "podman")
    assert not accepts(model, "Docker")
    assert not accepts(model, "")
    assert str(check_value("ENGINE", model, "kvm")) == (
        f"variable 'ENGINE': 'kvm' is not one of: no-container, docker, podman, singularity (model {model})"
    )
    assert accepts("PA:LIST(,a,b)", "")


def test_regexp_must_match_the_whole_value() -> None:
    model = r"PA:REGEXP(((\w|-|_)+,?\s?)+)"
    assert accepts(model, "a, b-c,d_e")
    assert not accepts(model, "a;b")
    assert accepts("PA:REGEXP([a-z]+)", "abc")
    assert not accepts("PA:REGEXP([a-z]+)", "abc1")
    assert "does not match the regular expression [a-z]+" in str(check_value("N", "PA:REGEXP([a-z]+)", "1"))


@pytest.mark.parametrize(
    "value",
    [
        "http://example.com",
        "https://h:8080/rest?x=1#f",
        "ftp://h/f",
        "file:///tmp/x",
        "mailto:a@b.c",
        "HTTP://EXAMPLE.COM",
        "http://h/a b",
    ],
)
def test_url_accepts(value: str) -> None:
    assert accepts("PA:URL", value)


@pytest.mark.parametrize("value", ["", "example.com", "htp://x", "http://", "s3://bucket/key", "http:x"])
def test_url_rejects(value: str) -> None:
    assert not accepts("PA:URL", value)


@pytest.mark.parametrize(
    "value",
    ["http://example.com", "s3://bucket/key", "urn:isbn:0451450523", "relative/path", "a%20b", "/x?y#z"],
)
def test_uri_accepts(value: str) -> None:
    assert accepts("PA:URI", value)


@pytest.mark.parametrize("value", ["", "a b", "1a:x", "a%zz", "x<y>", "a\\b"])
def test_uri_rejects(value: str) -> None:
    assert not accepts("PA:URI", value)


def test_datetime_with_java_format_and_range() -> None:
    model = "PA:DATETIME(yyyy-MM-dd)[2014-01-01,2015-01-01]"
    assert accepts(model, "2014-06-15")
    assert accepts(model, "2015-01-01")
    assert not accepts(model, "2016-01-01")
    assert not accepts(model, "2014/06/15")
    # Java's lenient SimpleDateFormat, as ProActive: month 13 of 2014 rolls over to January 2015.
    assert accepts(model, "2014-13-01")
    assert not accepts(model, "2015-13-01")
    assert str(check_value("D", model, "2016-01-01")) == (
        f"variable 'D': '2016-01-01' is not in [2014-01-01, 2015-01-01] (model {model})"
    )
    assert "is not a date matching 'yyyy-MM-dd'" in str(check_value("D", model, "soon"))


@pytest.mark.parametrize(
    ("java_format", "value"),
    [
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2024-03-01T12:30:45.123+0100"),
        ("yyyy-MM-dd'T'HH:mm:ssX", "2024-03-01T12:30:45Z"),
        ("dd/MM/yy hh:mm a", "01/03/24 01:30 PM"),
        ("EEE, d MMM yyyy", "Fri, 1 Mar 2024"),
        ("EEEE d MMMM yyyy", "Friday 1 March 2024"),
        ("yyyy.DDD", "2024.061"),
        ("'at' HH 'o''clock' ''", "at 12 o'clock '"),
        ("yyyy-MM-dd HH:mm z", "2024-03-01 10:00 UTC"),
        ("100% yyyy", "100% 2024"),
    ],
)
def test_datetime_format_letters(java_format: str, value: str) -> None:
    assert accepts(f"PA:DATETIME({java_format})", value)


def test_datetime_range_with_time_zones() -> None:
    model = "PA:DATETIME(yyyy-MM-dd HH:mmX)[2024-01-01 00:00Z,2024-01-01 10:00Z]"
    parsed = parse_model(model)
    assert parsed.maximum == datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(0)))
    assert accepts(model, "2024-01-01 11:00+02:00")
    assert not accepts(model, "2024-01-01 11:00+00:00")


def test_hidden_accepts_anything_and_is_not_shown() -> None:
    assert accepts("PA:HIDDEN", "ENC(KvnQVqWfueBasc1Blj8RZZDKXPrmuHC4)")
    assert accepts("PA:HIDDEN", "")
    problem = check_value("PWD", "PA:Integer", "s3cret", hidden=True)
    assert problem is not None and "s3cret" not in str(problem)
    assert "the hidden value is not an integer" in str(problem)


def test_credential_must_name_a_known_credential_when_they_are_given() -> None:
    assert accepts("PA:Credential", "any-key")
    assert accepts("PA:CREDENTIAL", "db-password", credentials={"db-password", "token"})
    assert not accepts("PA:CREDENTIAL", "nope", credentials={"db-password"})
    assert not accepts("PA:CREDENTIAL", "", credentials=set())
    assert accepts("PA:CREDENTIAL?", "", credentials=set())
    assert "is not the name of one of your third-party credentials" in str(
        check_value("C", "PA:CREDENTIAL", "nope", credentials=())
    )


@pytest.mark.parametrize("value", ["{}", "{ }", '{"a": [1, 2]}', "[]", "3", '"s"', "null"])
def test_json_accepts(value: str) -> None:
    assert accepts("PA:JSON", value)


@pytest.mark.parametrize("value", ["{", "{'a': 1}", "${SIGNAL_VARIABLES}", "[1] x"])
def test_json_rejects(value: str) -> None:
    assert not accepts("PA:JSON", value)
    assert "is not valid JSON" in str(check_value("J", "PA:JSON", value))


@pytest.mark.parametrize(
    ("value", "good"),
    [
        ("service-automation/MongoDB", True),
        ("basic-examples/Cron_Task/1556612466000", True),
        ("bucket/object/", False),
        ("bucket/object/123", False),
        ("bucket", False),
        ("/object", False),
        ("a/b/c/d", False),
        ("", False),
    ],
)
def test_catalog_object_reference(value: str, good: bool) -> None:
    assert accepts("PA:CATALOG_OBJECT(Workflow/psa,,,%Zookeeper)", value) is good
    assert accepts("PA:CATALOG_OBJECT", value) is good


@pytest.mark.parametrize(
    ("value", "good"),
    [
        ("* * * * *", True),
        ("*/5 0-6 * * 1-5", True),
        ("0 12 * * MON", True),
        ("0 5 * * *|0 17 * * *", True),
        ("", False),
        ("every minute", False),
        ("61 * * * *", False),
        ("0 5 * * *|bad", False),
    ],
)
def test_cron(value: str, good: bool) -> None:
    assert accepts("PA:CRON", value) is good


@pytest.mark.parametrize(
    "model",
    [
        "PA:INTEGER?",
        "PA:Integer[1,10]?",
        "PA:URL?",
        "PA:LIST(a,b)?",
        "PA:JSON?",
        "PA:CRON?",
        "PA:DATETIME(yyyy)?",
        "PA:Boolean?",
    ],
)
def test_optional_models_accept_an_empty_value_and_still_check_others(model: str) -> None:
    assert accepts(model, "")
    assert not accepts(model, "not valid here")


def test_a_malformed_model_is_a_problem_of_the_variable() -> None:
    problem = check_value("N", "PA:Integer[a,b]", "1")
    assert problem == Problem(
        "malformed model 'PA:Integer[a,b]': range bound 'a' is not an integer", field=variable_field("N")
    )


# --- several variables ---------------------------------------------------------------------------------


def test_check_variables_reports_every_problem_with_effective_values() -> None:
    declared = [
        Variable("RUNS", "5", model="PA:Integer[1,10]"),
        Variable("ENGINE", "docker", model="PA:LIST(docker,podman)"),
        Variable("NAME", "", model="PA:NOT_EMPTY_STRING"),
        Variable("FREE", "x"),
        Variable("BLANK_MODEL", "x", model="  "),
        Variable("PWD", "oops", model="PA:Boolean", hidden=True),
    ]
    problems = check_variables(declared, {"RUNS": "0.5", "ENGINE": "podman"})
    assert [str(problem) for problem in problems] == [
        "variable 'RUNS': '0.5' is not an integer (model PA:Integer[1,10])",
        "variable 'NAME': '' is empty (a non-empty text is expected) (model PA:NOT_EMPTY_STRING)",
        "variable 'PWD': the hidden value is not a boolean (true, false, 0 or 1) (model PA:Boolean)",
    ]
    assert all(problem.field and problem.field.startswith("variable '") for problem in problems)


def test_check_variables_names_the_task() -> None:
    problems = check_variables([Variable("N", "x", model="PA:Integer")], {}, task="T1")
    assert [str(problem) for problem in problems] == [
        "task 'T1', variable 'N': 'x' is not an integer (model PA:Integer)"
    ]


def test_dynamic_model_is_taken_from_another_variable() -> None:
    declared = [
        Variable("TYPE", "PA:Integer"),
        Variable("VALUE", "12", model="$TYPE"),
        Variable("OTHER", "abc", model="${TYPE}[1,5]"),
    ]
    problems = check_variables(declared, {})
    assert [str(problem) for problem in problems] == [
        "variable 'OTHER': 'abc' is not an integer (model PA:Integer[1,5])"
    ]
    assert check_variables(declared, {"TYPE": "PA:Boolean", "OTHER": "3"})[0].message.startswith(
        "'12' is not a boolean"
    )


def test_an_unresolved_dynamic_model_is_accepted_without_check() -> None:
    assert parse_model("$NOPE").kind is ModelKind.DYNAMIC
    assert check_variables([Variable("V", "x", model="$NOPE")], {}) == []


def test_model_arguments_see_the_variables() -> None:
    declared = [Variable("CHOICES", "a"), Variable("V", "c", model="PA:LIST(a,b)")]
    assert check_variables(declared, {}) != []
    declared = [Variable("MAX", "3"), Variable("V", "4", model="PA:Integer[0,$MAX]")]
    assert [problem.message for problem in check_variables(declared, {})] == [
        "'4' is not in [0, 3] (model PA:Integer[0,3])"
    ]
    assert check_variables(declared, {"MAX": "10"}) == []


def test_check_variables_with_credentials() -> None:
    declared = [Variable("CRED", "db", model="PA:Credential")]
    assert check_variables(declared, {}, credentials={"db"}) == []
    assert len(check_variables(declared, {}, credentials={"other"})) == 1
    assert check_variables(declared, {}) == []

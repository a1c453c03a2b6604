"""Every variable model and default value of the real workflows of the shared corpus.

Each ``model`` attribute must parse, and each declared default must fit its model once variables are
substituted as at submission (job variables against each other; a task variable's value against the
job's values, an ``inherited`` one taking the job's value when there is one). The defaults the corpus
holds that runyard cannot really check are listed in ``UNCHECKED_DEFAULTS``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lxml import etree

from runyard.errors import VariableValueError
from runyard.model.substitution import resolve, substitute
from runyard.model.variable_models import ModelKind, check_variables, parse_model
from runyard.model.variables import Variable

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

#: (file name, variable): defaults that pass only because their model is not checked by runyard.
UNCHECKED_DEFAULTS = {
    # PA:HIDDEN values the catalog encrypted with the server's key: ENC(...) cannot be decrypted here.
    ("Visdom.xml", "VISDOM_PASSWORD"),
    ("MongoDB.xml", "PASSWORD"),
}


def _variables(element: etree._Element) -> list[Variable]:
    return [
        Variable(
            name=node.get("name", ""),
            value=node.get("value", ""),
            model=node.get("model"),
            hidden=node.get("hidden") == "true",
            inherited=node.get("inherited") == "true",
        )
        for node in element.iterfind("{*}variables/{*}variable")
    ]


def _workflows() -> list[tuple[Path, etree._Element]]:
    paths = sorted(CORPUS.rglob("*.xml"))
    assert paths, f"no workflow found under {CORPUS}"
    documents = [(path, etree.parse(str(path)).getroot()) for path in paths]
    return [(path, root) for path, root in documents if etree.QName(root).localname == "job"]


def test_every_model_of_the_corpus_parses() -> None:
    kinds: Counter[ModelKind] = Counter()
    malformed = []
    for path, root in _workflows():
        for node in root.iter("{*}variable"):
            model = node.get("model")
            if model is None:
                continue
            try:
                kinds[parse_model(model).kind] += 1
            except VariableValueError as error:
                malformed.append(f"{path.name}: {error}")
    assert malformed == []
    assert kinds[ModelKind.BOOLEAN] > 10 and kinds[ModelKind.LIST] > 5 and kinds[ModelKind.SPEL] > 5
    assert kinds[ModelKind.CATALOG_OBJECT] > 0 and kinds[ModelKind.REGEXP] > 0


def test_every_default_of_the_corpus_fits_its_model() -> None:
    problems = []
    hidden_encrypted = set()
    for path, root in _workflows():
        job_variables = _variables(root)
        values = resolve({v.name: v.value for v in job_variables})
        problems += [f"{path.name}: {p}" for p in check_variables(job_variables, values)]
        for task in root.iter("{*}task"):
            task_variables = _variables(task)
            task_values = dict(values)
            for variable in task_variables:
                if not (variable.inherited and variable.name in values):
                    task_values[variable.name] = substitute(variable.value, values)
            problems += [
                f"{path.name}: {p}"
                for p in check_variables(task_variables, task_values, task=task.get("name"))
            ]
        hidden_encrypted |= {
            (path.name, v.name)
            for v in job_variables
            if v.value.startswith("ENC(") and v.model == "PA:HIDDEN"
        }
    assert problems == []
    assert hidden_encrypted == UNCHECKED_DEFAULTS

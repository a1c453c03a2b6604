from __future__ import annotations

import json
import pickle

from runyard.nodes.messages import outcome_from_json, outcome_to_json
from runyard.nodes.protocol import OutcomeKind, TaskOutcome


def test_outcome_round_trips_through_json() -> None:
    outcome = TaskOutcome(
        "t1",
        2,
        OutcomeKind.FINISHED,
        result=pickle.dumps({"a": 1}),
        result_json={"a": 1},
        result_repr="{'a': 1}",
        variables={"K": "v"},
        result_map={"m": [1]},
        flow={"loop": "*/5 * * * *"},
        exit_value=0,
        started_at=1.5,
        finished_at=2.5,
    )
    text = json.dumps(outcome_to_json(outcome))
    assert outcome_from_json(json.loads(text)) == outcome


def test_outcome_without_result() -> None:
    outcome = TaskOutcome("t1", 1, OutcomeKind.KILLED, error="killed on request")
    data = outcome_to_json(outcome)
    assert data["result"] is None and data["kind"] == "killed"
    assert outcome_from_json(data) == outcome

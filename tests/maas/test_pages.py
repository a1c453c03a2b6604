"""The HTML pages: login by cookie or ``?token=``, links under the base path, escaping, Swagger UI offline."""

from __future__ import annotations

import re

import numpy as np
from sklearn.linear_model import LogisticRegression

from maas import models
from maas.conftest import BASE
from maas.live import Live

HOSTILE = '<script>alert("x")</script>'


def test_pages_need_a_token(ml: Live) -> None:
    for page in ("", "predictions"):
        answer = ml.client.get(f"{ml.url}{page}")
        assert answer.status_code == 401
        assert '<form method="post"' in answer.text
        assert "Token timeline" not in answer.text
    wrong = ml.client.get(f"{ml.url}", params={"token": "wrong"})
    assert wrong.status_code == 401 and "unknown token" in wrong.text


def test_login_sets_a_cookie_for_the_base_path(ml: Live) -> None:
    token = ml.token("dora")
    answer = ml.client.post(f"{ml.url}login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == BASE
    cookie = answer.headers["set-cookie"]
    assert f"Path={BASE}" in cookie and "HttpOnly" in cookie
    ml.client.cookies.clear()
    page = ml.client.get(ml.url, headers={"Cookie": f"maas_token={token}"})
    assert page.status_code == 200
    assert "Audit &amp; Traceability" in page.text
    assert f'href="{BASE}predictions"' in page.text and f'href="{BASE}api/ui"' in page.text
    by_query = ml.client.get(f"{ml.url}predictions", params={"token": token})
    assert by_query.status_code == 200 and "Predictions Preview" in by_query.text
    ml.client.cookies.clear()
    proxied = ml.client.get(ml.url, params={"api_token": token})  # the platform's proxy keeps ?token=
    assert proxied.status_code == 200 and "maas_token" in proxied.headers["set-cookie"]
    assert ml.client.post(f"{ml.url}login", data={"token": "bad"}).status_code == 401
    ml.client.cookies.clear()


def test_hostile_columns_are_escaped(ml: Live, user: dict[str, str]) -> None:
    frame = models.drift_frame(50, seed=1).rename(columns={"a": HOSTILE})
    model = LogisticRegression().fit(frame.to_numpy(), frame["b"] > -3)
    deployed = ml.client.post(
        f"{ml.url}api/deploy",
        headers=user,
        files={
            "model_file": ("m", models.pickled(model)),
            "baseline_data": ("b.csv", frame.to_csv(index=False)),
        },
        data={"model_name": "hostile"},
    )
    assert deployed.status_code == 200
    rows: list[list[object]] = np.round(frame.to_numpy()[:3], 3).tolist()
    body = {"model_name": "hostile", "data": {"columns": list(frame.columns), "rows": rows}}
    assert ml.client.post(f"{ml.url}api/predict", headers=user, json=body).status_code == 200
    token = user["Authorization"].removeprefix("Bearer ")
    for page in ("", "predictions"):
        answer = ml.client.get(f"{ml.url}{page}", params={"token": token})
        assert HOSTILE not in answer.text
        assert "&lt;script&gt;" in answer.text
        assert "script-src 'none'" in answer.headers["content-security-policy"]
    ml.client.cookies.clear()


def test_swagger_ui_works_offline(ml: Live) -> None:
    page = ml.client.get(f"{ml.url}api/ui")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(references) >= 3
    for reference in references:
        assert "//" not in reference, reference
        assert reference.startswith(BASE)
        assert ml.client.get(f"{ml.url.split(BASE)[0]}{reference}").status_code == 200
    assert "script-src 'self';" in page.headers["content-security-policy"]  # no inline script
    assert re.search(r"https?://", page.text) is None
    start = ml.client.get(f"{ml.url}api/ui/start.js").text
    assert '"url": "' + BASE + 'api/openapi.json"' in start and '"validatorUrl": null' in start

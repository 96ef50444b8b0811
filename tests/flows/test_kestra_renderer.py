"""Kestra's own renderer answers as Kestra does: the functions the flows use, and its messages."""

from __future__ import annotations

import pytest

from tests.support.kestra_render import KestraRenderError, flow_variables

FLOW = {"id": "probe", "namespace": "zoomcamp", "variables": {"file": "{{ inputs.taxi }}_tripdata.csv"}}


def test_kestra_renders_variables_kv_secrets_and_dates(kestra_renderer) -> None:
    variables = flow_variables(FLOW, {"taxi": "green"}, trigger={"date": "2019-03-01T09:00:00-05:00"})
    rendered = kestra_renderer.render(
        {
            "file": "{{ render(vars.file) }}",
            "raw": "{{ vars.file }}",
            "kv": "{{ kv('ZOOMCAMP_PG_USER') }}",
            "secret": "{{ secret('ZOOMCAMP_DB_PASSWORD') }}",
            "month": "{{ trigger.date | date('yyyy-MM') }}",
        },
        variables,
        kv={"zoomcamp": {"ZOOMCAMP_PG_USER": "zoomcamp"}},
    )
    assert rendered == {
        "file": "green_tripdata.csv",
        # A flow variable is not rendered unless the flow asks with render(): Kestra 1.x's rule.
        "raw": "{{ inputs.taxi }}_tripdata.csv",
        "kv": "zoomcamp",
        "secret": "test-password",
        "month": "2019-03",
    }


def test_a_typo_fails_with_kestras_own_message(kestra_renderer) -> None:
    variables = flow_variables(FLOW, {"taxi": "green"})
    with pytest.raises(KestraRenderError, match=r"Unable to find `taxo` used in the expression"):
        kestra_renderer.render({"sql": "SELECT '{{ inputs.taxo }}'"}, variables)


def test_a_missing_kv_value_fails_as_in_kestra(kestra_renderer) -> None:
    with pytest.raises(KestraRenderError, match="GEMINI_API_KEY"):
        kestra_renderer.render({"key": "{{ kv('GEMINI_API_KEY') }}"}, flow_variables(FLOW, {}))


def test_each_request_sees_only_its_own_kv_values(kestra_renderer) -> None:
    """One JVM serves the run: a value an earlier render wrote must not answer a later one."""
    variables = flow_variables(FLOW, {})
    assert kestra_renderer.render({"key": "{{ kv('LEFT_OVER') }}"}, variables, kv={"zoomcamp": {"LEFT_OVER": "x"}})
    with pytest.raises(KestraRenderError, match="LEFT_OVER"):
        kestra_renderer.render({"key": "{{ kv('LEFT_OVER') }}"}, variables)

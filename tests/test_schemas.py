"""The published JSON Schemas match the models: a model change without regenerating them
(`adcut schema plan > schemas/editplan.schema.json`, same for brief and timeline) fails here."""

import json
from pathlib import Path

import pytest

from adcut.core.brief import Brief
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("model, name", [(Brief, "brief"), (EditPlan, "editplan"),
                                         (Timeline, "timeline")])
def test_published_schema_is_current(model, name):
    published = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    assert published == model.model_json_schema()
    assert published["additionalProperties"] is False  # strict about unknown keys

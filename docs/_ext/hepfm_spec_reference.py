"""A Sphinx directive that documents a pydantic schema from the schema itself.

``.. hepfm-schema:: hepfm_root.spec.FeatureSpec`` renders one table per model reachable from
the named one (its sections, their sections…): field, type, default, description, so the
feature-spec reference is generated from the versioned schema and cannot go stale.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from pydantic import BaseModel
from pydantic_core import PydanticUndefined


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return repr(field.default_factory())
    return "" if field.default is PydanticUndefined else repr(field.default)


def _table(model: type[BaseModel]) -> nodes.Node:
    section = nodes.section(ids=[f"schema-{model.__name__.lower()}"])
    section += nodes.title(text=model.__name__)
    doc = (model.__doc__ or "").strip().split("\n\n")[0]
    if doc:
        section += nodes.paragraph(text=" ".join(doc.split()))
    table = nodes.table()
    group = nodes.tgroup(cols=4)
    table += group
    for width in (18, 22, 14, 46):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body

    def row(cells: list[str], parent: nodes.Element) -> None:
        r = nodes.row()
        for c in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=c)
            r += entry
        parent += r

    row(["field", "type", "default", "meaning"], head)
    extra = model.model_config.get("extra")
    for name, field in model.model_fields.items():
        row([name, _type_name(field.annotation), _default(field), field.description or ""], body)
    section += table
    if extra == "forbid":
        section += nodes.paragraph(text="Unknown keys are refused (extra=\"forbid\").")
    return section


class SchemaDirective(Directive):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module, _, name = self.arguments[0].rpartition(".")
        root = getattr(importlib.import_module(module), name)
        seen: list[type[BaseModel]] = []
        todo = [root]
        while todo:
            m = todo.pop(0)
            if m in seen:
                continue
            seen.append(m)
            for field in m.model_fields.values():
                todo += _models_in(field.annotation)
        return [_table(m) for m in seen]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("hepfm-schema", SchemaDirective)
    return {"version": "1", "parallel_read_safe": True}

"""Every registered module type describes its options as a valid schema with valid defaults."""

from __future__ import annotations

import typing

import jsonschema
import pytest
from pydantic import BaseModel

from inspekt.errors import ModuleTypeError
from inspekt.modules import Module, ModuleOptions, known_types, lookup, module_type
from inspekt.modules.schema import describe_options, options_schema


@pytest.mark.parametrize("type_id", known_types())
def test_schema_builds_and_every_default_fits_it(type_id: str) -> None:
    cls = lookup(type_id)
    assert cls.type_id == type_id
    schema = options_schema(cls.options_model)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "$ref" not in str(schema)
    for name, spec in schema["properties"].items():
        if "default" in spec:
            jsonschema.validate(spec["default"], spec)
        field = cls.options_model.model_fields[name]
        if not field.is_required() and field.default_factory is not None:
            value = field.default_factory()  # type: ignore[call-arg]
            dumped = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            jsonschema.validate(dumped, spec)


def test_the_type_id_is_written_once_in_the_options() -> None:
    for type_id in known_types():
        annotation = lookup(type_id).options_model.model_fields["type"].annotation
        assert typing.get_args(annotation) == (type_id,)


def test_nested_option_models_are_described() -> None:
    options, required = describe_options(lookup("anomaly").options_model)
    model = options["model"]["properties"]
    assert "input_size" in model and "description" in model["input_size"]
    assert required == []


def test_registration_refuses_a_type_without_a_literal_id_or_registered_twice() -> None:
    class Loose(ModuleOptions):
        pass

    class NoId(Module):
        options_model = Loose

        def run(self, context: dict) -> None:
            pass

    with pytest.raises(ModuleTypeError, match="Literal"):
        module_type(NoId)

    class Again(Module):
        options_model = lookup("crop").options_model

        def run(self, context: dict) -> None:
            pass

    with pytest.raises(ModuleTypeError, match="registered twice"):
        module_type(Again)

"Every `Literal` field of every default-constructible config dataclass refuses a value it does not list, naming field, value and choices."
import dataclasses, importlib, pkgutil, typing
import pytest
import coordtok
from coordtok.config import check_choices


def config_classes():
    out = {}
    for m in pkgutil.iter_modules(coordtok.__path__):
        if m.name.startswith('_'): continue
        mod = importlib.import_module(f'coordtok.{m.name}')
        for obj in vars(mod).values():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == mod.__name__:
                try: obj()
                except TypeError: continue          # needs arguments: not a config with defaults
                out[obj.__name__] = obj
    return out


def literal_fields():
    rows = []
    for name, cls in sorted(config_classes().items()):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            args = typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else None
            if args is None and typing.get_origin(tp) is not None:
                args = next((typing.get_args(a) for a in typing.get_args(tp) if typing.get_origin(a) is typing.Literal), None)
            if args: rows.append((cls, f.name, args))
    return rows


def test_the_config_classes_are_found():
    names = set(config_classes())
    assert {'CoordTokConfig', 'DataConfig', 'TrainConfig', 'EncodeConfig', 'SiTTrainConfig'} <= names, names


@pytest.mark.parametrize('cls,field,allowed', literal_fields(), ids=lambda x: x.__name__ if isinstance(x, type) else str(x))
def test_literal_field_refuses_an_unknown_value(cls, field, allowed):
    bogus = 'no-such-choice' if isinstance(allowed[0], str) else 987
    with pytest.raises(ValueError) as e: cls(**{field: bogus})
    msg = str(e.value)
    assert f'{cls.__name__}.{field}' in msg and repr(bogus) in msg and str(allowed) in msg, msg
    for ok in allowed: check_choices(dataclasses.replace(cls(), **{field: ok})) if ok is not None else None   # every listed value passes

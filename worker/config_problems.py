"""A mistake in the config file, said in the config file's words: what to write instead, the key
that was probably meant, and never a value that may be a secret."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Mapping, get_args

from pydantic import BaseModel, ValidationError

from worker.config_sections import _FileSettings

# A value that looks like a credential is never echoed, whatever key it was put under.
SECRET_LOOKING = re.compile(r"^(pat-|sk-|xox[abpr]-|hooks\.|https?://[^\s]*/services/)|^[A-Za-z0-9_\-]{32,}$", re.IGNORECASE)


# A URL's password (scheme://user:PASSWORD@host): a database URL written whole into the config.
_URL_PASSWORD = re.compile(r"(://[^/:@\s]*:)[^@/\s]*@")


def without_password(text: str) -> str:
    """``text`` with any URL's password replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***@", text)


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = f" (value: {self.value})" if self.value else ""
        return f"{self.key}: {self.reason}{shown}"


def problems_from_validation(exc: ValidationError, raw: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        value = _lookup(raw, error["loc"])
        reason = error["msg"].removeprefix("Value error, ")
        shown = "" if value is _MISSING else repr(value)[:80]
        reason = _plain_words(error["type"], key, reason, value)
        if error["type"] == "extra_forbidden":
            known = _known_keys(error["loc"][:-1])
            close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1, cutoff=0.6)
            where = "section" if isinstance(value, dict) else "key"
            reason = f"unknown {where}" + (f"; did you mean {'[' + close[0] + ']' if where == 'section' and len(loc) == 1 else repr(close[0])}?" if close else "")
            reason += " (see config.example.toml for the keys this version reads)"
            if isinstance(value, dict):
                shown = ""
            elif not isinstance(value, (bool, int, float)):
                # Plainly not a secret only when it is a number or a boolean: an unknown key is
                # where a pasted token or webhook URL ends up.
                shown, reason = "", reason + "; its value is not shown in case it is a secret"
        elif isinstance(value, str) and SECRET_LOOKING.search(value.strip()):
            shown = "***"
        elif isinstance(value, str):
            shown = repr(without_password(value))[:80]
        problems.append(ConfigProblem(key, shown, reason))
    return problems


# Lists of days, in words a person can act on (pydantic says "Input should be a valid integer").
_LIST_OF_DAYS = {
    "reminders.milestone_days": "a list of whole numbers of days before the renewal, e.g. [120, 90, 75, 30, 7]",
    "reminders.deadline_warning_days": "a list of whole numbers of days before the deadline, e.g. [14, 3]",
}
_PYDANTIC_WORDS = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false (without quotes)",
    "bool_type": "true or false (without quotes)", "string_type": "text in quotes", "tuple_type": "a list, e.g. [1, 2]",
    "list_type": "a list, e.g. [1, 2]", "dict_type": "a table of keys", "model_type": "a table of keys ([section])",
}


def _plain_words(kind: str, key: str, reason: str, value: Any) -> str:
    """pydantic's message in the words of the config file: what to write instead."""
    for listed, words in _LIST_OF_DAYS.items():
        # Our own validators' words (value_error) already say what is wrong with the list.
        if (key == listed or key.startswith(listed + ".")) and kind != "value_error":
            return words
    if key.endswith(("_ratio", "_share")) and kind in {"less_than_equal", "greater_than", "greater_than_equal"}:
        hint = f"; {value} looks like a percent: write {value / 100:g}" if isinstance(value, (int, float)) and 1 < value <= 100 else ""
        return f"a share between 0 and 1 (0.9 means 90%){hint}"
    if kind in _PYDANTIC_WORDS:
        return _PYDANTIC_WORDS[kind]
    if kind == "literal_error":
        return reason.replace("Input should be", "one of")
    return reason.replace("Input should be", "expected")


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the settings file may hold at ``loc`` (a section's, or the top level's sections)."""
    model: Any = _FileSettings
    for part in loc:
        field = getattr(model, "model_fields", {}).get(str(part))
        if field is None:
            return []
        model = next((arg for arg in (field.annotation, *get_args(field.annotation)) if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
    return list(getattr(model, "model_fields", {}))


_MISSING = object()


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node

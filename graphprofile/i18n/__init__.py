"""Messages for people, in English or Chinese: one TOML file per language.

Every text a person reads in the console summary, the report, ``explain`` and the Bloom
perspective's category names and search phrases comes from ``en.toml`` or ``zh.toml`` in
this package, looked up by a dotted key (``report.heading.summary``). Machine-facing
outputs (tag keys in ``tags``, column names, reason objects, ``run.json``) stay English;
the ``tag_vocabulary`` table gives each tag's display name and description in both.

The language is ``--lang`` where a command takes it, else ``GRAPHPROFILE_LANG``, else
English. ``zh``, ``zh-CN``, ``zh_CN.UTF-8`` and ``zh-Hans`` all mean simplified Chinese.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from graphprofile.errors import ConfigError

ENV_LANG = "GRAPHPROFILE_LANG"
LANGS = ("en", "zh")
DEFAULT_LANG = "en"


def resolve_lang(lang: str | None = None) -> str:
    """The language to use: ``lang``, else ``GRAPHPROFILE_LANG``, else English.

    Raises
    ------
    ConfigError
        The language is not one of :data:`LANGS`.
    """
    given = lang if lang else os.environ.get(ENV_LANG, "")
    if not given.strip():
        return DEFAULT_LANG
    code = re.split(r"[-_.@]", given.strip().lower(), maxsplit=1)[0]
    if code not in LANGS:
        where = "--lang" if lang else ENV_LANG
        raise ConfigError(f"{where} {given!r} is not a supported language; use en or zh")
    return code


def _flatten(prefix: str, doc: dict[str, Any], out: dict[str, str]) -> dict[str, str]:
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(f"{name}.", value, out)
        else:
            out[name] = str(value)
    return out


@cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language as ``{dotted key: template}``."""
    text = resources.files(__package__).joinpath(f"{lang}.toml").read_text(encoding="utf-8")
    return _flatten("", tomllib.loads(text), {})


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a template."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@dataclass(frozen=True)
class Messages:
    """The messages of one language; call it with a key and the template's fields."""

    lang: str

    def __call__(self, key: str, /, **fields: Any) -> str:
        """The message ``key`` with ``fields`` filled in (English if this language lacks it).

        Raises
        ------
        KeyError
            No language has ``key`` (a programming error, caught by the tests).
        """
        template = catalog(self.lang).get(key)
        if template is None:
            template = catalog(DEFAULT_LANG)[key]
        return template.format(**fields) if fields else template

    def get(self, key: str, /, default: str | None = None) -> str | None:
        """The message ``key`` without fields, or ``default`` when no language has it."""
        found = catalog(self.lang).get(key) or catalog(DEFAULT_LANG).get(key)
        return found if found is not None else default

    @property
    def is_default(self) -> bool:
        return self.lang == DEFAULT_LANG


def messages(lang: str | None = None) -> Messages:
    """The :class:`Messages` of ``lang`` (resolved by :func:`resolve_lang`)."""
    return Messages(resolve_lang(lang))


ENGLISH = Messages(DEFAULT_LANG)

__all__ = ["ENGLISH", "ENV_LANG", "LANGS", "Messages", "messages", "resolve_lang"]

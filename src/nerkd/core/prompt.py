"""The teacher's prompt: label set with definitions, few-shot examples from gold, an optional
chain-of-thought variant, and the JSON shape of the answer. Templates live here and can be
replaced from a file (``$labels``, ``$answer_format`` and ``$text`` are filled in)."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from nerkd.core.errors import NerkdError
from nerkd.core.io import read_lines, read_text
from nerkd.core.records import Record

CONLL_LABELS = {
    "PER": "names of people, real or fictional (not their titles or roles)",
    "ORG": "organisations: companies, institutions, government bodies, political parties, "
    "sports teams and clubs, news agencies",
    "LOC": "locations: countries, cities, regions, continents, geographic features, "
    "named buildings and facilities",
    "MISC": "other proper names: nationalities and adjectives formed from names (German, "
    "British), events, works, products, languages, religions",
}

SYSTEM = "You are a careful annotator of named entities in text. You answer in JSON."

USER = """Find the named entities in the text.

Entity types:
$labels

$answer_format List entities in order of appearance and copy each one exactly as it is \
written in the text. Do not give character offsets. If there are none, give an empty list.

Text: $text"""

ANSWER_FORMAT = 'Answer with JSON only: {"entities": [{"text": "...", "label": "..."}]}.'

COT_FORMAT = (
    "Think first: understand the context, list candidate entities, decide each one's type "
    "and justify it in a few words. Put that reasoning in the \"reasoning\" field, then give "
    'the entities. Answer with JSON only: {"reasoning": "...", "entities": '
    '[{"text": "...", "label": "..."}]}.'
)


@dataclass
class PromptBuilder:
    """Builds chat messages for one text; ``fingerprint`` identifies everything but the text."""

    labels: Mapping[str, str] = field(default_factory=lambda: dict(CONLL_LABELS))
    examples: Sequence[Record] = ()
    cot: bool = False
    template: str = USER
    system: str = SYSTEM

    def messages(self, text: str, shots: Sequence[Record] | None = None) -> list[dict[str, str]]:
        """System, then one user/assistant pair per example, then the text."""
        prefix = self._prefix if shots is None else self._shown(shots)
        return [*prefix, {"role": "user", "content": self._user(text)}]

    @functools.cached_property
    def _prefix(self) -> list[dict[str, str]]:  # the same for every text of a run
        return self._shown(self.examples)

    def _shown(self, shots: Sequence[Record]) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system}]
        for example in shots:
            messages.append({"role": "user", "content": self._user(example.text)})
            messages.append({"role": "assistant", "content": _answer(example, self.cot)})
        return messages

    def _user(self, text: str) -> str:
        return self._filled_template.safe_substitute(text=text)

    @functools.cached_property
    def _filled_template(self) -> Template:
        """The template with everything but the text filled in (done once per run)."""
        lines = "\n".join(f"- {name}: {about}" if about else f"- {name}"
                          for name, about in self.labels.items())
        answer_format = COT_FORMAT if self.cot else ANSWER_FORMAT
        # Escape "$" in the filled-in values so the second pass sees only $text.
        return Template(Template(self.template).safe_substitute(
            labels=lines.replace("$", "$$"), answer_format=answer_format))

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of the prompt with the text left out, stored in each record's meta."""
        shape = {"messages": self.messages("$text"), "cot": self.cot}
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
        return digest[:16]

    def schema(self) -> dict[str, Any]:
        """JSON schema of the answer, for servers that constrain their output."""
        return self._schema

    @functools.cached_property
    def _schema(self) -> dict[str, Any]:  # built once: it is part of every call's key
        entity = {"type": "object", "properties": {
            "text": {"type": "string"}, "label": {"type": "string", "enum": list(self.labels)}},
            "required": ["text", "label"]}
        properties: dict[str, Any] = {"entities": {"type": "array", "items": entity}}
        if self.cot:
            properties = {"reasoning": {"type": "string"}, **properties}
        return {"type": "object", "properties": properties, "required": list(properties)}


def _answer(example: Record, cot: bool) -> str:
    entities = [{"text": s["text"], "label": s["label"]} for s in example.spans or []]
    answer: dict[str, Any] = {"entities": entities}
    if cot:
        reasons = "; ".join(f"{e['text']} is {e['label']}" for e in entities) or "no names"
        answer = {"reasoning": reasons, **answer}
    return json.dumps(answer, ensure_ascii=False)


def read_labels(spec: str | None) -> dict[str, str]:
    """Labels from ``PER,ORG`` (known ones keep their definitions) or from a file whose lines
    read ``LABEL: description``; the CoNLL-2003 set when ``spec`` is None."""
    if spec is None:
        return dict(CONLL_LABELS)
    path = Path(spec)
    if spec.strip() and path.is_file():
        labels = {}
        for number, line in read_lines(path):
            if line.strip() and not line.startswith("#"):
                name, _, about = line.partition(":")
                labels[_label_name(name, spec, number)] = about.strip()
        if not labels:
            raise NerkdError("no labels in the file", spec)
        return labels
    names = [_label_name(name, "--labels") for name in spec.split(",") if name.strip()]
    if not names:
        raise NerkdError(f"--labels: no label names in {spec!r} (e.g. PER,ORG or a file)")
    return {name: CONLL_LABELS.get(name, "") for name in names}


def _label_name(name: str, where: str, line: int | None = None) -> str:
    """An entity type: a word, not a tag (``B-PER`` would make ``B-B-PER``)."""
    name = name.strip().upper()
    if not re.fullmatch(r"[A-Z][\w-]*", name) or re.match(r"[BI]-", name):
        raise NerkdError(f"{name!r} is not an entity type (a word like PER, not a tag)",
                         where, line)
    return name


def pick_examples(gold: Sequence[Record], k: int, seed: int = 0) -> list[Record]:
    """``k`` labelled examples, drawn with a seed, that together show as many types as they can."""
    pool = [r for r in gold if r.tags is not None and r.tokens]
    rng = random.Random(seed)
    rng.shuffle(pool)
    with_entities = [r for r in pool if r.spans]
    return (with_entities + [r for r in pool if not r.spans])[:k]


def similar_examples(text: str, pool: Sequence[Record], k: int) -> list[Record]:
    """The ``k`` examples sharing the most words with ``text`` (Jaccard overlap)."""
    words = set(text.lower().split())

    def overlap(record: Record) -> float:
        other = set(record.text.lower().split())
        return len(words & other) / (len(words | other) or 1)

    return sorted(pool, key=overlap, reverse=True)[:k]


def load_template(path: str | None) -> str:
    if path is None:
        return USER
    template = read_text(path)
    if "$text" not in template:
        raise NerkdError("a prompt template must contain $text", path)
    return template

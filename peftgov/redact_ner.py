"""Names and addresses out of the data too: a trained peftgov NER run as a redactor.

The patterns of :mod:`peftgov.redact` find numbers with check digits, phones, e-mail, plates:
personal information with a shape. Names and addresses have none; a NER model finds them.
``data.redact_ner: RUN_DIR`` (with ``data.redact: true``) loads a finished peftgov NER run
(its manifest verified, as ``predict`` does) and, after the patterns, replaces every entity it
predicts of the chosen types with ``<PERSON>`` (types ``PER``, ``PER.NAM``, ``PERSON``) or
``<ADDRESS>`` (``LOC``, ``LOC.NAM``, ``ADDR``, ``ADDRESS``); ``data.redact_ner_types`` picks
other types of the run's label set (each then gets ``<TYPE>``, dots as underscores). Nominal
mentions (Weibo's ``PER.NOM``: "the teacher") are no personal information and are kept by
default. Spans touching a placeholder already in the text are left alone, so redacting twice
changes nothing more (up to what the model predicts on the redacted text).

The redactor reads text line by line (a csv / tsv file's lines, each string of a jsonl row),
in batches, on the CPU or the run's device.
"""

from __future__ import annotations

from collections import Counter

import torch

from .errors import ArtifactError
from .redact import PLACEHOLDER

PERSON_TYPES = ("PER", "PER.NAM", "PERSON", "PERSON.NAM")
ADDRESS_TYPES = ("LOC", "LOC.NAM", "ADDR", "ADDRESS")
DEFAULT_TYPES = PERSON_TYPES + ADDRESS_TYPES
"""What is redacted when ``data.redact_ner_types`` is not given: those of the run's types."""


def placeholder_kind(entity_type: str) -> str:
    if entity_type in PERSON_TYPES:
        return "PERSON"
    if entity_type in ADDRESS_TYPES:
        return "ADDRESS"
    return entity_type.replace(".", "_").upper()


def entity_types(labels: list[str]) -> list[str]:
    """Entity types of a BIO label list (``B-PER.NAM`` -> ``PER.NAM``), in order."""
    return list(dict.fromkeys(lab[2:] for lab in labels if lab[:2] in ("B-", "I-")))


class NerRedactor:
    """A finished NER run (a :class:`peftgov.runs.LoadedRun`) that replaces predicted names /
    addresses with placeholders; ``types``: its entity types to redact (default: see
    :data:`DEFAULT_TYPES`)."""

    def __init__(self, run, types: list[str] | None = None, *, batch_size: int = 32) -> None:
        if run.recipe.task.name != "ner":
            raise ArtifactError(
                f"{run.run_dir}: data.redact_ner needs a finished NER run "
                f"(this one is task {run.recipe.task.name!r})"
            )
        known = entity_types(run.state["labels"])
        if types:
            unknown = [t for t in types if t not in known]
            if unknown:
                raise ArtifactError(
                    f"{run.run_dir}: data.redact_ner_types {unknown} are not types of this run "
                    f"(it has {known})"
                )
            chosen = list(types)
        else:
            chosen = [t for t in known if t in DEFAULT_TYPES]
            if not chosen:
                raise ArtifactError(
                    f"{run.run_dir}: none of its types {known} is a person or address type "
                    f"{list(DEFAULT_TYPES)}; name them with data.redact_ner_types"
                )
        self.run, self.types, self.batch_size = run, set(chosen), batch_size

    def _entities(self, texts: list[str]) -> list[list[dict]]:
        run = self.run
        out: list[list[dict]] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = texts[start : start + self.batch_size]
                preds = run.task.predict(run.model, run.tokenizer, chunk, run.recipe, run.state)
                out += [p.get("entities", []) for p in preds]
        return out

    def redact_line(self, line: str, entities: list[dict], counts: Counter) -> str:
        kept = [p.span() for p in PLACEHOLDER.finditer(line)]
        spans = []
        for e in entities:
            if e["type"] not in self.types or e["end"] <= e["start"]:
                continue
            if any(e["start"] < b and a < e["end"] for a, b in kept + spans):
                continue
            spans.append((e["start"], e["end"]))
            counts[placeholder_kind(e["type"])] += 1
        kinds = {(e["start"], e["end"]): placeholder_kind(e["type"]) for e in entities}
        for a, b in sorted(spans, reverse=True):
            line = f"{line[:a]}<{kinds[(a, b)]}>{line[b:]}"
        return line

    def __call__(self, texts: list[str], counts: Counter) -> list[str]:
        """Each text, line by line (blank lines and placeholders untouched)."""
        lines = [t.split("\n") for t in texts]
        todo = [(i, j) for i, ls in enumerate(lines) for j, line in enumerate(ls) if line.strip()]
        found = self._entities([lines[i][j] for i, j in todo])
        for (i, j), entities in zip(todo, found):
            lines[i][j] = self.redact_line(lines[i][j], entities, counts)
        return ["\n".join(ls) for ls in lines]

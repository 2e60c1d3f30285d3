"""What the commands do differently per task: entities (``ner``) or a class per text
(``classify``). Each task is one kit; a command asks ``kit(task)`` instead of branching on the
task's name, so a third task is one more kit here, beside its core in ``core.tasks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nerkd.cli.common import fail

if TYPE_CHECKING:
    from nerkd.core.records import Record


@dataclass
class Labelling:
    """How an LLM teacher is asked and its answers read (``reading`` None: entities), and the
    annotate options the task sets itself."""

    prompt: Any
    reading: Any = None
    options: dict[str, Any] = field(default_factory=dict)


class NerKit:
    name = "ner"
    counted = "entities"  # what annotate's summary counts
    text_unit = "sentence"  # a record of raw text
    score = "F1"  # what an evolve round reports
    # model teachers of the other task, refused in one line
    wrong_teachers = {"embed": "--teacher embed gives classes: use it with --task classify"}

    def labels(self, spec: str | None, seeds: Sequence[Record] = ()) -> dict[str, str]:
        """--labels: entity types with descriptions (default: CoNLL-2003's)."""
        from nerkd.core.prompt import read_labels

        return read_labels(spec)

    def left_out(self, records: Sequence[Record], labels: Iterable[str]) -> set[str]:
        """Entity types the records hold that ``labels`` lacks (types are read in upper
        case, as --labels gives them)."""
        from nerkd.core.tasks.ner import entity_types

        known = {label.upper() for label in labels}
        held = set().union(*(entity_types(r.tags or []) for r in records))
        return {t for t in held if t.upper() not in known}

    def check_prompt_options(self, cot: bool, prompt: str | None) -> None:
        """Refuse prompt options this task has no use for (before any file is read)."""

    def labelling(self, labels: dict[str, str], pool: Sequence[Record], shots: int | None,
                  seed: int, label_map: dict[str, str], cot: bool = False,
                  prompt: str | None = None) -> Labelling:
        """The entity prompt with ``shots`` tagged examples drawn from ``pool`` (None: all of
        them, for --similar to choose from)."""
        from nerkd.core.prompt import PromptBuilder, load_template, pick_examples

        tagged = [r for r in pool if r.tags is not None]
        examples = tagged if shots is None else pick_examples(tagged, shots, seed)
        return Labelling(PromptBuilder(labels=labels, cot=cot, template=load_template(prompt),
                                       examples=examples))

    def model_labeller(self, backend: str, model: str | None, labels: dict[str, str],
                       label_map: dict[str, str], log: Any, keep_gold: bool = False,
                       device: str = "auto") -> Any:
        from nerkd.core.model_teacher import load_model_teacher

        return load_model_teacher(backend, model, labels, label_map, log, keep_gold, device)

    def evolve_task(self, labels: dict[str, str], seeds: Sequence[Record],
                    label_map: dict[str, str]) -> Any:
        from nerkd.core.evolve_task import NerTask

        return NerTask(labels, [r for r in seeds if r.spans], label_map)

    def evaluate(self, gold: Sequence[Record], pred: Any, names: tuple[str, str], by_id: bool,
                 mode: str, max_examples: int) -> dict[str, Any]:
        from nerkd.core.evaluate import evaluate_records

        return evaluate_records(gold, pred, mode=mode, max_examples=max_examples, names=names,
                                by_id=by_id)

    def table(self, report: dict[str, Any]) -> Any:
        from nerkd.cli.tables import report_table

        return report_table(report)

    def plot(self, report: dict[str, Any], path: str) -> None:
        from nerkd.core.plots import eval_plot

        eval_plot(report, path)

    def dev_words(self, report: dict[str, Any]) -> str:
        return f"dev F1 {report['micro']['f1']:.4f}"


class ClassifyKit:
    name = "classify"
    counted = "classes"
    text_unit = "line"  # a document per line of raw text
    score = "accuracy"  # one class per text: micro F1 is accuracy
    wrong_teachers = {"spacy": "--teacher spacy finds entities: for --task classify use hf "
                               "(a text classifier), embed or an LLM"}

    def labels(self, spec: str | None, seeds: Sequence[Record] = ()) -> dict[str, str]:
        """--labels: class names or 'name: definition' lines; else the seed data's classes."""
        from nerkd.core.tasks.classify import read_classes

        if spec is not None:
            return read_classes(spec)
        classes = sorted({r.label for r in seeds if r.label is not None})
        if not classes:
            raise fail("--task classify needs --labels: class names (sport,tech) or a file of "
                       "'name: definition' lines")
        return dict.fromkeys(classes, "")

    def left_out(self, records: Sequence[Record], labels: Iterable[str]) -> set[str]:
        """Classes the records hold that ``labels`` lacks."""
        return {r.label for r in records if r.label is not None} - set(labels)

    def check_prompt_options(self, cot: bool, prompt: str | None) -> None:
        if cot or prompt:
            raise fail("--cot and --prompt shape the entity prompt: they do not apply to "
                       "--task classify")

    def labelling(self, labels: dict[str, str], pool: Sequence[Record], shots: int | None,
                  seed: int, label_map: dict[str, str], cot: bool = False,
                  prompt: str | None = None) -> Labelling:
        """The class prompt with ``shots`` labelled documents from ``pool`` (None: all)."""
        from nerkd.core.tasks.classify import ClassPrompt, ClassReading, pick_documents

        self.check_prompt_options(cot, prompt)
        # an example of a class outside --labels would teach the model to answer it
        documents = [r for r in pool if r.label in labels]
        if pool and not documents:
            raise fail(f"--examples: no document has one of the classes {', '.join(labels)}, "
                       "so there is nothing to show the teacher")
        shown = documents if shots is None else pick_documents(documents, shots, seed)
        # A class answer is a few tokens; the prompt cuts long texts itself.
        return Labelling(ClassPrompt(labels, examples=shown), ClassReading(list(labels), label_map),
                         {"max_chars": 10**9, "max_answer_tokens": 48})

    def model_labeller(self, backend: str, model: str | None, labels: dict[str, str],
                       label_map: dict[str, str], log: Any, keep_gold: bool = False,
                       device: str = "auto") -> Any:
        """A text classifier (hf) or a sentence-embedding model reading zero-shot (embed),
        on ``device``."""
        from nerkd.core.student import resolve_model
        from nerkd.core.tasks import class_teachers

        if backend == "hf":
            if model is None:
                raise fail("--teacher hf needs --model DIR (a text classification model)")
            labeller = class_teachers.classifier_labeller(model, device)
        else:
            model = resolve_model(model)
            labeller = class_teachers.embedding_labeller(model, labels, device)
        return class_teachers.ClassModelTeacher(labeller, backend, model, list(labels),
                                                label_map, keep_gold)

    def evolve_task(self, labels: dict[str, str], seeds: Sequence[Record],
                    label_map: dict[str, str]) -> Any:
        from nerkd.core.tasks.classify_evolve import ClassTask

        return ClassTask(labels, seeds, label_map)

    def evaluate(self, gold: Sequence[Record], pred: Any, names: tuple[str, str], by_id: bool,
                 mode: str, max_examples: int) -> dict[str, Any]:
        from nerkd.core.tasks.classify import evaluate_label_records

        return evaluate_label_records(gold, pred, names=names, by_id=by_id)

    def table(self, report: dict[str, Any]) -> Any:
        from nerkd.cli.tables import class_table

        return class_table(report)

    def plot(self, report: dict[str, Any], path: str) -> None:
        from nerkd.core.plots import confusion_plot

        confusion_plot(report, path)

    def dev_words(self, report: dict[str, Any]) -> str:
        return f"dev accuracy {report['accuracy']:.4f}, macro F1 {report['macro']['f1']:.4f}"


KITS = {"ner": NerKit(), "classify": ClassifyKit()}


def kit(task: str) -> NerKit | ClassifyKit:
    return KITS[task]

"""Blend: schedule formulas, the counting rule, seeded sampling, filters, the CLI and plans."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from nerkd.core.blend import (
    blend_plan,
    make_schedule,
    read_schedule_table,
    record_confidence,
    take,
)
from nerkd.core.errors import NerkdError
from nerkd.core.formats import read_records, write_records
from nerkd.core.plan import epochs_of_plan, record_weight
from nerkd.core.records import Record, make_record

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sentence(i: int, source: str | None, prefix: str = "s") -> Record:
    return make_record([f"{prefix}{i}", "visited", "Paris"], ["O", "O", "B-LOC"], id=f"{prefix}{i}",
                       source=source)


def pools(n_gold: int = 5, n_silver: int = 7) -> tuple[list[Record], list[Record]]:
    return ([sentence(i, "gold", "g") for i in range(n_gold)],
            [sentence(i, "silver", "s") for i in range(n_silver)])


def per_epoch(plan: list[Record]) -> dict[int, Counter]:
    counts: dict[int, Counter] = {}
    for record in plan:
        counts.setdefault(record.extra["epoch"], Counter())[record.source] += 1
    return counts


def fractions(name: str, epochs: int, **options) -> list[tuple[float, float]]:
    schedule = make_schedule(name, **options)
    return [schedule.fractions(e, epochs) for e in range(epochs)]


# --- schedule formulas -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("gold", (0.0, 1.0)), ("silver", (1.0, 0.0)), ("concat", (1.0, 1.0)),
])
def test_fixed_schedules(name, expected):
    assert fractions(name, 4) == [expected] * 4


@pytest.mark.parametrize(("epochs", "silver_epochs"), [(1, 1), (4, 2), (5, 3), (6, 3)])
def test_sequential_switches_at_ceil_half_by_default(epochs, silver_epochs):
    expected = [(1.0, 0.0)] * silver_epochs + [(0.0, 1.0)] * (epochs - silver_epochs)
    assert fractions("sequential", epochs) == expected


def test_sequential_switch_option_and_its_bounds():
    assert fractions("sequential", 4, switch=1) == [(1.0, 0.0)] + [(0.0, 1.0)] * 3
    assert fractions("sequential", 3, switch=0) == [(0.0, 1.0)] * 3
    with pytest.raises(NerkdError, match="beyond --epochs"):
        fractions("sequential", 3, switch=4)
    with pytest.raises(NerkdError, match="at least 0"):
        make_schedule("sequential", switch=-1)


def test_simple_mix_variants():
    assert fractions("simple-mix", 4) == [(1.0, 0.0)] * 2 + [(1.0, 1.0)] * 2
    assert fractions("simple-mix", 4, variant="silver-then-gold") == fractions("sequential", 4)
    assert fractions("simple-mix", 5, switch=1)[1:] == [(1.0, 1.0)] * 4
    with pytest.raises(NerkdError, match="--variant"):
        make_schedule("simple-mix", variant="gold-first")


@pytest.mark.parametrize(("k", "c"), [(10.0, 0.5), (4.0, 0.3), (25.0, 0.8)])
def test_sigmoid_formula(k, c):
    epochs = 8
    for e, (s, g) in enumerate(fractions("sigmoid", epochs, steepness=k, centre=c)):
        assert s == pytest.approx(1 / (1 + math.exp(k * (e / epochs - c))), rel=1e-12)
        assert g == pytest.approx(1 - s, rel=1e-12)
    first, last = fractions("sigmoid", epochs, steepness=k, centre=c)[::epochs - 1]
    assert first[0] > last[0]


def test_sigmoid_survives_extreme_steepness_and_gold_constant():
    values = fractions("sigmoid", 5, steepness=5000.0, gold_fraction="constant")
    assert [s for s, _ in values] == pytest.approx([1.0, 1.0, 1.0, 0.0, 0.0], abs=1e-12)
    assert fractions("sigmoid", 4, steepness=5000.0)[2] == (0.5, 0.5)  # e/E == c
    assert {g for _, g in values} == {1.0}


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0])
def test_power_decay_formula(p):
    for e, (s, g) in enumerate(fractions("power-decay", 6, power=p)):
        assert s == pytest.approx((1 + e) ** -p)
        assert g == pytest.approx(1 - (1 + e) ** -p)
    assert fractions("power-decay", 3)[1] == (0.5, 0.5)
    assert {g for _, g in fractions("power-decay", 3, gold_fraction="constant")} == {1.0}


def test_power_decay_rejects_negative_power():
    with pytest.raises(NerkdError, match="--power"):
        make_schedule("power-decay", power=-1)


def test_linear_formula():
    assert fractions("linear", 5) == [
        (1.0, 0.0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0.0, 1.0)]
    assert fractions("linear", 1) == [(1.0, 0.0)]
    assert fractions("linear", 3, gold_fraction="constant") == [(1.0, 1.0), (0.5, 1.0), (0.0, 1.0)]


def test_unknown_schedule_and_bad_epochs():
    with pytest.raises(NerkdError, match="unknown schedule 'cosine'"):
        make_schedule("cosine")
    gold, silver = pools()
    with pytest.raises(NerkdError, match="at least 1"):
        blend_plan(gold, silver, make_schedule("concat"), 0)
    with pytest.raises(NerkdError, match="--epochs is required"):
        blend_plan(gold, silver, make_schedule("concat"), None)


# --- counting and sampling -------------------------------------------------------------------

def test_take_rounds_half_up_and_clamps():
    assert [take(f, 3) for f in (0.0, 0.1, 1 / 6, 0.5, 0.83, 1.0)] == [0, 0, 1, 2, 2, 3]
    assert take(0.25, 10) == 3  # 2.5 rounds up, not to even
    assert take(1.0, 0) == 0
    assert take(1 - 5 / 6, 3) == 1  # 0.16666666666666663 x 3 is a half, not just under one


@pytest.mark.parametrize(("name", "options"), [
    ("sigmoid", {}), ("sigmoid", {"steepness": 3.0, "centre": 0.2}), ("power-decay", {}),
    ("power-decay", {"power": 0.5, "gold_fraction": "constant"}), ("linear", {}),
    ("sequential", {}), ("simple-mix", {}),
])
def test_plan_counts_follow_the_formula(name, options):
    gold, silver = pools(5, 7)
    schedule = make_schedule(name, **options)
    plan, stats = blend_plan(gold, silver, schedule, 6, seed=3)
    counts = per_epoch(list(plan))
    for e in range(6):
        s, g = schedule.fractions(e, 6)
        expected = {"silver": math.floor(s * 7 + 0.5), "gold": math.floor(g * 5 + 0.5)}
        assert dict(counts[e]) == {k: v for k, v in expected.items() if v}
        assert (stats.epochs[e].silver, stats.epochs[e].gold) == tuple(expected.values())
    assert stats.planned == sum(sum(c.values()) for c in counts.values())


def test_plan_is_seeded_and_ordered_by_epoch():
    gold, silver = pools(20, 30)
    schedule = make_schedule("sigmoid")

    def ids(seed: int) -> list[tuple[int, str]]:
        return [(r.extra["epoch"], r.id) for r in blend_plan(gold, silver, schedule, 5, seed)[0]]

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)
    epochs = [e for e, _ in ids(7)]
    assert epochs == sorted(epochs) and set(epochs) == set(range(5))


def test_sampling_is_without_replacement_within_an_epoch_and_shuffled_together():
    gold, silver = pools(40, 40)
    plan = list(blend_plan(gold, silver, make_schedule("linear"), 5, seed=1)[0])
    for _, group in itertools.groupby(plan, key=lambda r: r.extra["epoch"]):
        ids = [r.id for r in group]
        assert len(ids) == len(set(ids))
    middle = [r.source for r in plan if r.extra["epoch"] == 2]
    assert middle != sorted(middle)  # silver and gold interleave


def test_output_records_are_copies_with_epoch_and_source():
    gold = [sentence(0, None, "g")]
    silver = [sentence(0, None, "s")]
    silver[0].extra.update({"epoch": 99, "weight": 0.1, "note": "kept"})
    plan = list(blend_plan(gold, silver, make_schedule("concat"), 2)[0])
    assert {(r.id, r.source) for r in plan} == {("g0", "gold"), ("s0", "silver")}
    assert [r.extra["epoch"] for r in plan if r.id == "s0"] == [0, 1]
    assert all("weight" not in r.extra for r in plan)
    assert all(r.extra.get("note") == "kept" for r in plan if r.id == "s0")
    assert silver[0].extra["epoch"] == 99 and silver[0].source is None


# --- filters ---------------------------------------------------------------------------------

def test_silver_sentences_in_gold_are_dropped_whitespace_aside():
    """CoNLL gold reads "Paris ." where the raw text a teacher saw said "Paris."."""
    gold, silver = pools(3, 4)
    copy = make_record(["g1", "visited", "Paris"], ["O", "O", "O"], text="g1  visited\tParis",
                       id="dup", source="silver")
    raw = make_record(["g2", "visited", "Paris"], ["O", "O", "O"], text="g2 visited Paris",
                      offsets=[(0, 2), (3, 10), (11, 16)], id="raw", source="silver")
    other = make_record(["g2visited", "Paris"], ["O", "O"], id="other", source="silver")
    plan, stats = blend_plan(gold, [*silver, copy, raw, other], make_schedule("concat"), 1)
    assert stats.duplicates == 2 and stats.silver == 5
    ids = {r.id for r in plan}
    assert not {"dup", "raw"} & ids and "other" in ids  # "the rapist" is not "therapist"


def test_unlabelled_records_are_skipped_and_counted():
    gold, silver = pools(2, 2)
    bare = make_record(["no", "tags"], id="bare")
    plan, stats = blend_plan([*gold, bare], [bare, *silver], make_schedule("concat"), 1)
    assert stats.unlabelled == 2
    assert len(list(plan)) == 4


def confident(i: int, *confidences: float) -> Record:
    record = make_record(["Ann", "met", "Bob", f"x{i}"], ["B-PER", "O", "B-PER", "O"], id=f"c{i}",
                         source="silver")
    for span, value in zip(record.spans or [], confidences):
        span["confidence"] = value
    return record


def test_record_confidence_is_the_lowest_span_confidence():
    assert record_confidence(confident(0, 0.9, 0.6)) == 0.6
    assert record_confidence(confident(1)) == 1.0
    assert record_confidence(make_record(["a"], ["O"])) == 1.0
    for bad in (-1.0, 5, "0.2", True):
        with pytest.raises(NerkdError, match=r"record c3: confidence .* is not a number from 0"):
            record_confidence(confident(3, 0.9, bad))


def test_a_bad_confidence_is_named_with_its_file_and_line(nerkd, tmp_path):
    silver = tmp_path / "silver.jsonl"
    good = confident(0, 0.9).to_json()
    bad = {**confident(1).to_json(), "meta": {"confidence": -1.0}}
    silver.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    result = nerkd("blend", "--silver", silver, "--schedule", "silver", "--epochs", "1",
                   "--weight-by-confidence")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"nerkd: error: {silver}:2: record c1: confidence -1.0 ")
    unused = nerkd("blend", "--silver", silver, "--schedule", "silver", "--epochs", "1")
    assert unused.exit_code == 0, unused.stderr  # read only when an option uses it


def test_confidence_options_on_silver_without_confidences_are_warned(nerkd, tmp_path):
    silver = tmp_path / "silver.jsonl"
    silver.write_text(json.dumps(confident(0).to_json()) + "\n")
    result = nerkd("blend", "--silver", silver, "--schedule", "silver", "--epochs", "1",
                   "--min-confidence", "0.5")
    assert result.exit_code == 0, result.stderr
    assert f"{silver}: no silver record carries a confidence" in result.stderr
    silver.write_text(json.dumps(confident(0, 0.9).to_json()) + "\n")
    carried = nerkd("blend", "--silver", silver, "--schedule", "silver", "--epochs", "1",
                    "--min-confidence", "0.5")
    assert carried.exit_code == 0 and "carries" not in carried.stderr


def test_min_confidence_drops_records_and_weights_follow_confidence():
    gold = [sentence(0, "gold", "g")]
    silver = [confident(0, 0.9, 0.6), confident(1, 0.95, 0.8), confident(2)]
    plan, stats = blend_plan(gold, silver, make_schedule("concat"), 1, min_confidence=0.7,
                             weight_by_confidence=True)
    records = {r.id: r for r in plan}
    assert stats.low_confidence == 1 and set(records) == {"g0", "c1", "c2"}
    assert records["c1"].extra["weight"] == 0.8
    assert "weight" not in records["c2"].extra and "weight" not in records["g0"].extra
    assert record_weight(records["c1"]) == 0.8


def test_a_documents_vote_share_is_its_confidence():
    """`annotate --task classify --votes N` keeps the share in meta.confidence."""
    from nerkd.core.records import record_from_json

    def document(i: int, confidence: object) -> Record:
        meta = {} if confidence is None else {"confidence": confidence}
        return record_from_json({"id": f"d{i}", "text": f"text {i}", "label": "sport",
                                 "source": "silver", "meta": meta})

    silver = [document(0, 0.2), document(1, 0.6), document(2, None)]
    plan, stats = blend_plan([], silver, make_schedule("silver"), 1, min_confidence=0.5,
                             weight_by_confidence=True)
    records = {r.id: r for r in plan}
    assert stats.low_confidence == 1 and set(records) == {"d1", "d2"}
    assert records["d1"].extra["weight"] == 0.6 and "weight" not in records["d2"].extra
    with pytest.raises(NerkdError, match="confidence True is not a number"):  # not "none"
        record_confidence(document(3, True))


def test_weights_are_absent_without_the_option():
    plan, _ = blend_plan([], [confident(0, 0.5)], make_schedule("silver"), 1)
    assert "weight" not in next(plan).extra


def test_empty_pools_and_empty_epochs_are_errors():
    with pytest.raises(NerkdError, match="no labelled records"):
        blend_plan([], [make_record(["x"])], make_schedule("concat"), 2)
    gold, _ = pools()
    with pytest.raises(NerkdError, match="epoch 0 would have no records"):
        blend_plan(gold, [], make_schedule("sequential"), 2)


# --- custom tables ---------------------------------------------------------------------------

def test_custom_table_plain_and_jsonl(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("# silver gold\n1 0\n\n0.5, 0.5  # halfway\n0 1\n")
    assert read_schedule_table(plain) == [(1.0, 0.0), (0.5, 0.5), (0.0, 1.0)]
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"epoch": 1, "silver": 0.25, "gold": 1}\n'
                    '{"epoch": 0, "silver": 1, "gold": 0}\n')
    table = read_schedule_table(rows)
    assert table == [(1.0, 0.0), (0.25, 1.0)]
    schedule = make_schedule("custom", table=table)
    gold, silver = pools(4, 4)
    plan, stats = blend_plan(gold, silver, schedule, None)
    assert [(c.silver, c.gold) for c in stats.epochs] == [(4, 0), (1, 4)]
    with pytest.raises(NerkdError, match="has 2 epochs but --epochs is 3"):
        blend_plan(gold, silver, schedule, 3)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("1 0\n0.5 0.5\n0.5\n", 3, "expected 'silver_fraction gold_fraction'"),
    ("1 0\n\nhalf 1\n", 3, "expected two numbers"),
    ("1 0\n1.5 0\n", 2, r"\[0, 1\]"),
    ('{"epoch": 0, "silver": 1, "gold": 0}\n{"epoch": 0, "silver": 1, "gold": 0}\n', 2, "twice"),
    ('{"epoch": 0, "silver": 1}\n', 1, "'epoch', 'silver' and 'gold'"),
])
def test_custom_table_errors_name_the_line(tmp_path, text, line, message):
    path = tmp_path / "sched.txt"
    path.write_text(text)
    with pytest.raises(NerkdError, match=message) as caught:
        read_schedule_table(path)
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_custom_table_gap_and_misuse(tmp_path):
    path = tmp_path / "gap.jsonl"
    path.write_text('{"epoch": 0, "silver": 1, "gold": 0}\n{"epoch": 2, "silver": 0, "gold": 1}\n')
    with pytest.raises(NerkdError, match="no row for epoch 1"):
        read_schedule_table(path)
    with pytest.raises(NerkdError, match="--custom"):
        make_schedule("custom")
    with pytest.raises(NerkdError, match="--custom"):
        make_schedule("linear", table=[(1.0, 0.0)])


# --- CLI -------------------------------------------------------------------------------------

@pytest.fixture
def inputs(tmp_path) -> tuple[Path, Path]:
    gold, silver = pools(6, 9)
    gold_path, silver_path = tmp_path / "gold.jsonl", tmp_path / "silver.jsonl"
    write_records(gold, gold_path)
    write_records(silver, silver_path)
    return gold_path, silver_path


def test_cli_writes_a_plan_that_train_accepts(nerkd, inputs):
    gold, silver = inputs
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "power-decay",
                   "--epochs", "4", "--seed", "5")
    assert result.exit_code == 0, result.stderr
    rows = result.jsonl()
    assert {row["epoch"] for row in rows} == {0, 1, 2, 3}
    assert [row["epoch"] for row in rows] == sorted(row["epoch"] for row in rows)
    assert {row["source"] for row in rows} == {"gold", "silver"}
    assert result.stderr.startswith("blend power-decay (power=1.0")  # a log keeps it
    quiet = nerkd("--quiet", "blend", "--gold", gold, "--silver", silver, "--epochs", "4")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    quiet_after = nerkd("blend", "--gold", gold, "--silver", silver, "--epochs", "4", "-q")
    assert quiet_after.exit_code == 0 and quiet_after.stderr == ""
    assert quiet_after.stdout == quiet.stdout


def test_plan_file_round_trips_into_epochs_of_plan(nerkd, inputs, tmp_path):
    gold, silver = inputs
    out = tmp_path / "plan.jsonl"
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "sigmoid",
                   "--epochs", "5", "-o", out)
    assert result.exit_code == 0 and result.stdout == ""
    by_epoch = epochs_of_plan(list(read_records(out)), 5)
    assert len(by_epoch) == 5
    assert [len(e) for e in by_epoch] == [
        take(s, 9) + take(g, 6)
        for s, g in (make_schedule("sigmoid").fractions(e, 5) for e in range(5))
    ]


def test_cli_reads_silver_from_stdin_and_weights_by_confidence(nerkd, inputs):
    gold, _ = inputs
    lines = "".join(json.dumps(confident(i, 0.5 + i / 10).to_json()) + "\n" for i in range(4))
    result = nerkd("blend", "--gold", gold, "--silver", "-", "--schedule", "concat", "--epochs",
                   "1", "--min-confidence", "0.6", "--weight-by-confidence", input=lines)
    assert result.exit_code == 0, result.stderr
    weights = sorted(row["weight"] for row in result.jsonl() if row["source"] == "silver")
    assert weights == [0.6, 0.7, 0.8]


def test_show_prints_a_table_instead_of_the_plan_on_stdout(nerkd, inputs, tmp_path):
    gold, silver = inputs
    args = ["blend", "--gold", gold, "--silver", silver, "--schedule", "linear", "--epochs", "3"]
    out = tmp_path / "plan.jsonl"
    shown, also_written = nerkd(*args, "--show"), nerkd(*args, "--show", "-o", out)
    for result in (shown, also_written):
        assert result.exit_code == 0
        assert "s(e)" in result.stdout and "0.500" in result.stdout
        assert not any(line.lstrip().startswith("{") for line in result.stdout.splitlines())
    assert out.read_text() == nerkd(*args).stdout  # -o FILE still gets the plan
    long = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "sigmoid",
                 "--epochs", "3", "--show")
    first = long.stdout.splitlines()[0]  # one line, however long: not wrapped at 80
    assert first.startswith("sigmoid (") and first.endswith(" gold") and len(first) > 80


def test_plot_writes_a_png_and_no_plan(nerkd, inputs, tmp_path):
    gold, silver = inputs
    png = tmp_path / "figs" / "schedule.png"
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "sigmoid",
                   "--epochs", "6", "--plot", png)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_cli_custom_table_error_has_file_and_line(nerkd, inputs, tmp_path):
    gold, silver = inputs
    table = tmp_path / "sched.txt"
    table.write_text("1 0\n0.5 oops\n")
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "custom",
                   "--custom", table)
    assert result.exit_code == 1
    assert f"{table}:2: expected two numbers" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "message", "code"), [
    (["--schedule", "concat"], "--epochs is required", 2),  # an option missing: usage
    (["--schedule", "sequential", "--switch", "5", "--epochs", "2"],
     "--switch 5 is beyond --epochs 2", 2),  # options that clash: usage too
    (["--gold", "missing.jsonl", "--epochs", "2"], "missing.jsonl: cannot open", 1),
    (["--epochs", "2"], "give --gold, --silver or both", 1),
])
def test_cli_errors_are_one_line(nerkd, inputs, args, message, code):
    gold, silver = inputs
    if "--gold" not in args and message != "give --gold, --silver or both":
        args = ["--gold", str(gold), "--silver", str(silver), *args]
    result = nerkd("blend", *args)
    assert result.exit_code == code
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--epochs", "1000000"], ["--power", "nan"],
                                  ["--min-confidence", "1.5"], ["--steepness", "inf"]])
def test_out_of_range_numbers_are_usage_errors(nerkd, inputs, args):
    gold, silver = inputs
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--epochs", "3", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_cli_rejects_an_unknown_schedule(nerkd, inputs):
    gold, _ = inputs
    result = nerkd("blend", "--gold", gold, "--schedule", "cosine", "--epochs", "2")
    assert result.exit_code == 2 and "cosine" in result.stderr


def test_blend_pipes_through_a_real_process(inputs):
    gold, silver = inputs
    command = [sys.executable, "-m", "nerkd", "blend", "--gold", str(gold), "--silver", str(silver),
               "--schedule", "simple-mix", "--epochs", "4"]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {row["epoch"] for row in rows} == {0, 1, 2, 3}
    late = Counter(row["source"] for row in rows if row["epoch"] >= 2)
    assert late == {"silver": 18, "gold": 12}  # simple-mix: silver+gold after the switch


# --- real data -------------------------------------------------------------------------------

def test_blend_on_a_conll_slice(conll_dir, tmp_path):
    gold = list(itertools.islice(read_records(conll_dir / "train.txt"), 300))
    dev = itertools.islice(read_records(conll_dir / "dev.txt"), 200)
    silver = [r.with_tags(r.tags) for r in dev]
    for record in silver:
        record.source = "silver"
    silver += [gold[0].with_tags(gold[0].tags)]  # a sentence the teacher also labelled
    plan, stats = blend_plan(gold, silver, make_schedule("sigmoid"), 4, seed=11)
    records = list(plan)
    assert stats.duplicates >= 1 and stats.gold == 300
    by_epoch = epochs_of_plan(records, 4)
    for e, group in enumerate(by_epoch):
        s, g = make_schedule("sigmoid").fractions(e, 4)
        sources = Counter(r.source for r in group)
        assert sources["silver"] == take(s, stats.silver) and sources["gold"] == take(g, 300)
    assert all(r.tags and len(r.tags) == len(r.tokens) for r in records)


def test_options_a_schedule_does_not_read_are_said(nerkd, inputs, tmp_path):
    gold, silver = inputs
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "sigmoid",
                   "--epochs", "4", "--switch", "2", "--steepness", "5")
    assert result.exit_code == 0, result.stderr
    assert "nerkd: warning: --switch does nothing with --schedule sigmoid" in result.stderr
    assert "--steepness does nothing" not in result.stderr
    repeated = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "linear",
                     "--epochs", "2", "--steepness", "10")  # its default, given all the same
    assert "--steepness does nothing with --schedule linear" in repeated.stderr
    assert "does nothing" not in nerkd("blend", "--gold", gold, "--silver", silver,
                                       "--epochs", "2").stderr
    table = tmp_path / "table.jsonl"
    table.write_text('{"epoch": 0, "silver": 1, "gold": 0}\n')
    misused = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "linear",
                    "--epochs", "2", "--custom", table)
    assert misused.exit_code == 2 and "only it takes one" in misused.stderr


@pytest.mark.parametrize(("switch", "said"), [("0", "no epoch is before the switch"),
                                              ("3", "every epoch is before the switch"),
                                              ("1", None)])
def test_a_switch_at_either_end_is_said(nerkd, inputs, switch, said, tmp_path):
    gold, silver = inputs
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "sequential",
                   "--epochs", "3", "--switch", switch)
    assert result.exit_code == 0, result.stderr
    assert (said in result.stderr) if said else "warning" not in result.stderr
    table = tmp_path / "table.txt"  # no --switch, no --epochs: nothing to say of a switch
    table.write_text("1 0\n0 1\n")
    custom = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "custom",
                   "--custom", table)
    assert custom.exit_code == 0 and "switch" not in custom.stderr


def test_a_plan_is_not_written_as_conll(nerkd, inputs, tmp_path):
    gold, silver = inputs
    result = nerkd("blend", "--gold", gold, "--silver", silver, "--epochs", "2",
                   "-o", tmp_path / "plan.conll")
    assert result.exit_code == 2 and "a plan is JSONL" in result.stderr
    assert not (tmp_path / "plan.conll").exists()

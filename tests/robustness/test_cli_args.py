"""Bad command-line arguments: every ``robocritic`` subcommand given a value that makes no sense
(negative or huge counts, NaN and infinity, malformed or backwards seed ranges, empty strings,
missing files, folders where files go and files where folders go) exits 2 with one
``error: argument --option: ...`` line naming the option, before any work starts; never a
traceback.

Commands run in-process (:func:`robocritic.cli.main`), each in a child bounded in memory and time
(a value accepted by mistake would start a real job: a timeout is a failure too).
"""

from __future__ import annotations

import io
import math
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest
from harness import bounded, expect_clear
from hypothesis import given
from hypothesis import strategies as st

from robocritic.cli import main
from robocritic.cli.options import SEED_MAX


class CliRefusal(ValueError):
    """The command exited 2; the message is its error line."""


def run_cli(argv: list[str]) -> None:
    """``robocritic ARGV`` in-process: returns on exit 0, raises :class:`CliRefusal` (its one
    error line) on exit 2, ``RuntimeError`` on any other status or a traceback on stderr."""
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    text = err.getvalue()
    if "Traceback" in text:
        raise RuntimeError(f"traceback on stderr: {text[-800:]}")
    if code in (0, None):
        return
    if code != 2:
        raise RuntimeError(f"exit status {code}: {text[-800:]}")
    errors = [line for line in text.splitlines() if "error:" in line]
    if len(errors) != 1 or not text.rstrip().endswith(errors[0]):
        raise RuntimeError(f"expected one error line at the end of stderr; got {text[-800:]!r}")
    raise CliRefusal(errors[0])


def refused(argv: list[str], option: str) -> str:
    """Run ``argv`` bounded; it must exit 2 with an error line naming ``option``. Returns the line."""
    exc = expect_clear("cli", bounded(lambda: run_cli(argv), memory_mb=1024, seconds=60), errors=(CliRefusal,),
                       mentions=option)
    return str(exc)


# --- the options and their bad values ------------------------------------------------------------


@pytest.fixture(scope="module")
def where(tmp_path_factory) -> dict[str, str]:
    """Paths the command lines use: an existing file and folder, fresh output paths."""
    root = tmp_path_factory.mktemp("cli")
    (root / "data.npz").write_bytes(b"")
    (root / "folder").mkdir()
    (root / "launch.launch.yaml").write_text("launch:\n- arg: {name: a, default: '1'}\n")
    return {"FILE": str(root / "data.npz"), "DIR": str(root / "folder"), "NEW": str(root / "new"),
            "NEWFILE": str(root / "new.npz"), "LAUNCH": str(root / "launch.launch.yaml")}


@dataclass(frozen=True)
class Option:
    """One option of one command: ``argv`` with ``{}`` where the value goes, the name the error
    line must carry, and the kind of value (what is bad for it)."""

    argv: tuple[str, ...]
    name: str
    kind: str
    low: float = 1
    high: float = 10**9


def _opt(command: str, name: str, kind: str, low: float = 1, high: float = 10**9, *, rest: str = "") -> Option:
    """``rest`` completes the command line; the value goes where ``rest`` has ``{}``, else first
    (a positional) or last (as ``--option=VALUE``, so that a value starting with '-' stays one)."""
    if "{}" not in rest:
        rest = f"{{}} {rest}" if not name.startswith("--") else f"{rest} {name}={{}}"
    return Option((*command.split(), *rest.split()), name, kind, low, high)


OPTIONS = [
    _opt("sim2sim", "--steps", "count", 1, 10**6),
    _opt("sim2sim", "--seed", "seed"),
    _opt("bresa collect", "--episodes", "count", 1, 10**6, rest="--out NEWFILE"),
    _opt("bresa collect", "--seed", "seed", rest="--out NEWFILE"),
    _opt("bresa collect", "--workers", "count", 1, 1024, rest="--out NEWFILE"),
    _opt("bresa collect", "--jitter", "float", 0.0, 1.0, rest="--out NEWFILE"),
    _opt("bresa collect", "--out", "out_file"),
    _opt("bresa train", "--horizon-ms", "positive", 0, 1e6, rest="FILE --out NEWFILE"),
    _opt("bresa train", "--hidden", "count", 1, 65536, rest="FILE --out NEWFILE"),
    _opt("bresa train", "--epochs", "count", 1, 10**6, rest="FILE --out NEWFILE"),
    _opt("bresa train", "--batch-size", "count", 1, 2**20, rest="FILE --out NEWFILE"),
    _opt("bresa train", "--seed", "seed", rest="FILE --out NEWFILE"),
    _opt("bresa train", "data", "in_file", rest="--out NEWFILE"),
    _opt("bresa eval", "--seeds", "ranges", rest="--out NEW"),
    _opt("bresa eval", "--critic", "in_file", rest="--seeds 1 --out NEW"),
    _opt("bresa eval", "--approach-speed", "positive", 0, 1e3, rest="--seeds 1 --out NEW"),
    _opt("bresa eval", "--workers", "count", 1, 1024, rest="--seeds 1 --out NEW"),
    _opt("bresa eval", "--out", "out_dir", rest="--seeds 1"),
    _opt("bresa export", "critic", "in_file"),
    _opt("bresa export", "--out", "out_file", rest="FILE"),
    _opt("navdp generate", "--worlds", "ranges", rest="--out NEW"),
    _opt("navdp generate", "--workers", "count", 1, 1024, rest="--worlds 0 --out NEW"),
    _opt("navdp generate", "--per-world", "count", 1, 10**4, rest="--worlds 0 --out NEW"),
    _opt("navdp generate", "--out", "out_dir", rest="--worlds 0"),
    _opt("navdp train", "data", "in_dir", rest="--out NEW"),
    _opt("navdp train", "--steps", "count", 1, 10**9, rest="DIR --out NEW"),
    _opt("navdp train", "--batch", "count", 1, 2**20, rest="DIR --out NEW"),
    _opt("navdp train", "--seed", "seed", rest="DIR --out NEW"),
    _opt("navdp train", "--lr", "positive", 0, 1.0, rest="DIR --out NEW"),
    _opt("navdp train", "--threads", "count", 1, 1024, rest="DIR --out NEW"),
    _opt("navdp train", "--val-fraction", "fraction", 0, 1, rest="DIR --out NEW"),
    _opt("navdp train", "--checkpoint-every", "count", 1, 10**9, rest="DIR --out NEW"),
    _opt("navdp train", "--init", "in_file", rest="DIR --out NEW"),
    _opt("navdp train", "--candidates", "in_dir", rest="DIR --out NEW"),
    _opt("navdp candidates", "data", "in_dir", rest="--model FILE --out NEW"),
    _opt("navdp candidates", "--model", "in_file", rest="DIR --out NEW"),
    _opt("navdp candidates", "--out", "out_dir", rest="DIR --model FILE"),
    _opt("navdp candidates", "--worlds", "ranges", rest="DIR --model FILE --out NEW"),
    _opt("navdp candidates", "--k", "count", 1, 4096, rest="DIR --model FILE --out NEW"),
    _opt("navdp candidates", "--stride", "count", 1, 10**6, rest="DIR --model FILE --out NEW"),
    _opt("navdp check-candidates", "model", "in_file", rest="DIR"),
    _opt("navdp check-candidates", "data", "in_dir", rest="FILE {}"),
    _opt("navdp check-candidates", "--seed", "seed", rest="FILE DIR"),
    _opt("navdp check-candidates", "--threads", "count", 1, 1024, rest="FILE DIR"),
    _opt("navdp export", "run", "in_dir", rest="--out NEWFILE"),
    _opt("navdp export", "--out", "out_file", rest="DIR"),
    _opt("navdp eval", "--worlds", "ranges", rest="--out NEW"),
    _opt("navdp eval", "--episodes-per-world", "count", 1, 10**4, rest="--worlds 0 --out NEW"),
    _opt("navdp eval", "--checkpoint", "in_file", rest="--worlds 0 --out NEW"),
    _opt("navdp eval", "--workers", "count", 1, 1024, rest="--worlds 0 --out NEW"),
    _opt("navdp check", "model", "in_file", rest="DIR"),
    _opt("navdp check", "data", "in_dir", rest="FILE {}"),
    _opt("navdp check", "--samples", "count", 1, 10**7, rest="FILE DIR"),
    _opt("navdp check", "--threads", "count", 1, 1024, rest="FILE DIR"),
    _opt("yann train", "run_dir", "out_dir"),
    _opt("yann train", "--seed", "seed", rest="NEW"),
    _opt("yann train", "--config", "in_file_yaml", rest="NEW"),
    _opt("yann train", "--env", "choice", rest="NEW"),
    _opt("yann eval", "run_dir", "in_dir"),
    _opt("yann compare", "--seeds", "seed", rest="--out NEW"),
    _opt("yann compare", "--envs", "choice", rest="--out NEW"),
    _opt("yann compare", "--out", "out_dir"),
    _opt("launch", "--duration", "positive", 0, math.inf, rest="LAUNCH --show-args"),
    _opt("launch", "--sigterm-timeout", "float", 0, math.inf, rest="LAUNCH --show-args"),
    _opt("launch", "--sigkill-timeout", "float", 0, math.inf, rest="LAUNCH --show-args"),
    _opt("launch", "--domain-id", "count", 0, 232, rest="LAUNCH --show-args"),
    _opt("launch", "--log-dir", "out_dir", rest="LAUNCH --show-args"),
]

NOT_NUMBERS = ["", " ", "abc", "1,5", "--", "0x10", "1/2", "one", "1 2", "1e", "\x00"]
NOT_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"]


def bad_values(option: Option) -> st.SearchStrategy[str]:
    """Values that ``option`` must refuse."""
    kind, low, high = option.kind, option.low, option.high
    if kind in ("count", "seed"):
        low, high = (0, SEED_MAX) if kind == "seed" else (int(low), int(high))
        return st.one_of(st.integers(max_value=low - 1).map(str), st.integers(min_value=high + 1).map(str),
                         st.sampled_from(["1.5", "2e3", "10" + "0" * 5000, *NOT_NUMBERS, *NOT_FINITE]),
                         st.text(max_size=8).filter(lambda t: not _is_int(t)))
    if kind in ("float", "positive", "fraction"):  # [low, high], (low, high] and [low, high)
        finite = {"allow_nan": False, "allow_infinity": False}
        outside = [st.floats(max_value=low, exclude_max=kind != "positive", **finite)]
        if math.isfinite(high):
            outside.append(st.floats(min_value=high, exclude_min=kind != "fraction", **finite))
        return st.one_of(*[s.map(repr) for s in outside], st.sampled_from([*NOT_NUMBERS, *NOT_FINITE]))
    if kind == "ranges":
        return st.sampled_from(["5-3", "a-b", "", " ", "-1", "1--2", "1-2-3", "1,,2", ",", "x", "1-", "-",
                                "0-10000000000000000000", f"{SEED_MAX + 1}", "0-99999999", "1.5", "nan", "0x1",
                                "3,5-4"]) | st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)).map(
                                    lambda t: f"{max(t)}-{min(t) - 1}")
    return st.sampled_from(PATH_BAD[kind])


PATH_BAD = {
    "in_file": ["", " ", "MISSING", "DIR", "NUL"],
    "in_file_yaml": ["", "MISSING", "DIR", "NUL"],
    "in_dir": ["", "MISSING", "FILE", "NUL"],
    "out_file": ["", " ", "DIR", "NUL"],
    "out_dir": ["", " ", "FILE", "NUL"],
    "choice": ["", "robocritic/Nope-v0", "x" * 5000],
}


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def argv_of(option: Option, value: str, where: dict[str, str]) -> list[str]:
    paths = {**where, "MISSING": where["NEW"] + "_missing", "NUL": "a\x00b"}
    value = paths.get(value, value)
    return [paths.get(a, a) if a != "{}" and "{}" not in a else a.replace("{}", value) for a in option.argv]


@given(data=st.data())
def test_bad_values_exit_2_naming_the_option(where, data):
    option = data.draw(st.sampled_from(OPTIONS), label="option")
    value = data.draw(bad_values(option), label="value")
    refused(argv_of(option, value, where), option.name)


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: f"{' '.join(o.argv[:2])} {o.name}")
def test_every_option_refuses_its_first_bad_value(where, option):
    """One deterministic bad value per option (the property above samples the rest)."""
    first = {"count": "-1", "seed": "-1", "float": "nan", "positive": "0", "fraction": "inf", "ranges": "5-3"}
    value = first.get(option.kind, PATH_BAD.get(option.kind, [""])[0])
    refused(argv_of(option, value, where), option.name)


# --- the findings, by name -----------------------------------------------------------------------


@pytest.mark.parametrize("argv, option", [
    (["navdp", "generate", "--worlds", "5-3", "--out", "NEW"], "--worlds"),
    (["navdp", "generate", "--worlds", "0-1000000000000000000", "--out", "NEW"], "--worlds"),
    (["navdp", "eval", "--worlds", "", "--out", "NEW"], "--worlds"),
    (["bresa", "eval", "--seeds", "a-b", "--out", "NEW"], "--seeds"),
    (["bresa", "eval", "--seeds", "1,1", "--out", "NEW"], "--seeds"),
    (["bresa", "eval", "--seeds", "0-99999999999", "--out", "NEW"], "--seeds"),
    (["bresa", "collect", "--episodes", "-3", "--out", "NEWFILE"], "--episodes"),
    (["bresa", "collect", "--jitter", "nan", "--out", "NEWFILE"], "--jitter"),
    (["bresa", "train", "FILE", "--out", "NEWFILE", "--hidden", "8", "0"], "--hidden"),
    (["bresa", "train", "FILE", "--out", "NEWFILE", "--horizon-ms", "inf"], "--horizon-ms"),
    (["navdp", "train", "DIR", "--out", "NEW", "--lr", "nan"], "--lr"),
    (["sim2sim", "--steps", "1" + "0" * 30], "--steps"),
    (["sim2sim", "--steps=--"], "--steps"),  # argparse < 3.12 turns this into an empty list
    (["bresa", "train", "FILE", "--out", "NEWFILE", "--hidden=--"], "--hidden"),
    (["launch", "LAUNCH", "--show-args", "--sigterm-timeout=--"], "--sigterm-timeout"),
    (["yann", "train", "NEW", "--config", "MISSING"], "--config"),
    (["yann", "train", "NEW", "--config", "DIR"], "--config"),
    (["yann", "eval", "FILE"], "run_dir"),
    (["launch", "LAUNCH", "--show-args", "--domain-id", "233"], "--domain-id"),
    (["launch", "LAUNCH", "--show-args", "--duration", "nan"], "--duration"),
])
def test_named_bad_arguments(where, argv, option):
    paths = {**where, "MISSING": where["NEW"] + "_missing"}
    refused([paths.get(a, a) for a in argv], option)


@pytest.mark.parametrize("argv, mentions", [
    (["navdp", "generate", "--worlds", "0", "--out", "NEW", "--config", "depth.noise_std=nan"], "noise_std"),
    (["navdp", "generate", "--worlds", "0", "--out", "NEW", "--config", "n_critic=" + "9" * 40], "n_critic"),
    (["navdp", "generate", "--worlds", "0", "--out", "NEW", "--config", "x" * 5000], "--config"),
    (["launch", "MISSING.launch.yaml"], "cannot read launch file"),
    (["launch", "DIR"], "only YAML launch files"),
    (["launch", "LAUNCH", "--show-args", ":=1"], "name:=value"),
])
def test_bad_values_found_after_parsing_are_one_line_too(where, argv, mentions):
    """Values argparse cannot judge alone (``--config KEY=VALUE``, the launch file itself) end the
    same way: exit 2, one line."""
    paths = {**where, "MISSING.launch.yaml": where["NEW"] + ".launch.yaml"}
    refused([paths.get(a, a) for a in argv], mentions)


def test_good_values_still_parse(where):
    """The checks refuse only what makes no sense: the options' own defaults and ordinary values pass."""
    from robocritic.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["bresa", "collect", "--out", where["NEWFILE"], "--episodes", "3", "--jitter", "0",
                              "--seed", str(SEED_MAX)])
    assert (args.episodes, args.jitter, args.seed) == (3, 0.0, SEED_MAX)
    args = parser.parse_args(["navdp", "generate", "--worlds", "0-9,20", "--out", where["DIR"]])
    assert args.worlds == "0-9,20"  # handed unchanged to the command's own parser
    args = parser.parse_args(["navdp", "train", where["DIR"], "--out", where["NEW"], "--val-fraction", "0"])
    assert args.val_fraction == 0.0
    run_cli(["launch", where["LAUNCH"], "--show-args", "--domain-id", "0", "--duration", "1"])

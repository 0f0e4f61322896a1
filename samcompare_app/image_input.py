"""The image a session works on: a sample or an upload, with notes on conversions and downscaling.

The image in use is kept in session state apart from the widgets, so a corrupt upload shows an
error and leaves the previous image (and its results) in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import streamlit as st

from samcompare.engine.cache import image_key, is_frozen
from samcompare.images import (
    DEFAULT_DOWNSCALE_SIDE,
    IMAGE_EXTENSIONS,
    ImageLoadError,
    LoadedImage,
    downscale,
    load_image,
)
from samcompare.samples import SAMPLES, default_sample, load_sample, suits_model
from samcompare_app.state import (
    ACTIVE_IMAGE_KEY,
    DOWNSCALE_KEY,
    SAMPLE_KEY,
    SOURCE_KEY,
    UPLOAD_KEY,
    memo,
    recall,
    remember,
    restore_widget,
    tr,
)

SAMPLE_SOURCE = "Sample"
UPLOAD_SOURCE = "Upload"


@dataclass(frozen=True)
class ActiveImage:
    """The image runs use, and how it was obtained."""

    name: str
    pixels: np.ndarray = field(repr=False)  # RGB uint8, possibly downscaled
    original_shape: tuple[int, int]  # (H, W) before any downscale
    notes: tuple[str, ...] = ()
    is_sample: bool = False
    upload_id: str | None = None

    def __post_init__(self) -> None:
        # Read-only, so the engine hashes it once (`image_key`) however often a re-filter asks.
        pixels = self.pixels if is_frozen(self.pixels) else np.array(self.pixels)
        pixels.setflags(write=False)
        object.__setattr__(self, "pixels", pixels)

    @property
    def downscaled(self) -> bool:
        return tuple(self.pixels.shape[:2]) != self.original_shape

    @cached_property
    def key(self) -> str:
        """The content key of the pixels (the engine cache's), hashed once per image."""
        return image_key(self.pixels)

    def size_text(self) -> str:
        height, width = self.pixels.shape[:2]
        text = f"{width} × {height} px"
        if self.downscaled:
            original = f"{self.original_shape[1]} × {self.original_shape[0]}"
            text += tr(f" (downscaled from {original})", f"（{original} から縮小）")
        return text


def from_loaded(loaded: LoadedImage, shrink: bool, upload_id: str | None = None) -> ActiveImage:
    """An upload as the image in use; shrunk to `DEFAULT_DOWNSCALE_SIDE` when large and `shrink` is set."""
    pixels = downscale(loaded.pixels, DEFAULT_DOWNSCALE_SIDE) if shrink and loaded.is_large else loaded.pixels
    return ActiveImage(loaded.name, pixels, (loaded.height, loaded.width), loaded.notes, False, upload_id)


def from_upload(name: str, data: bytes, shrink: bool = True, upload_id: str | None = None) -> ActiveImage:
    """What the upload widget does with a file; raises `ImageLoadError` with a message for the user."""
    return from_loaded(load_image(data, name), shrink, upload_id)


def from_sample(name: str) -> ActiveImage:
    pixels = load_sample(name)
    return ActiveImage(name, pixels, (int(pixels.shape[0]), int(pixels.shape[1])), (), True)


KIND_JA = {"shapes": "図形", "photo": "写真"}


def _jpeg(pixels: np.ndarray) -> bytes:
    from samcompare_app.results_view import jpeg

    return jpeg(pixels)


def active_image() -> ActiveImage | None:
    return st.session_state.get(ACTIVE_IMAGE_KEY)


def _pick_sample() -> None:
    st.session_state[ACTIVE_IMAGE_KEY] = from_sample(st.session_state[SAMPLE_KEY])
    remember(SAMPLE_KEY, st.session_state[SAMPLE_KEY])
    remember("sample_chosen_by_user", True)


def image_picker(model_is_demo: bool) -> ActiveImage:
    """Sidebar controls for the image; returns the image in use (a suitable sample at first)."""
    current = active_image()
    # Open ready to run: a sample that suits the model, until the user picks an image themselves.
    if current is None or (
        current.is_sample
        and not recall("sample_chosen_by_user", False)
        and not suits_model(current.name, model_is_demo)
    ):
        current = from_sample(default_sample(model_is_demo))
        st.session_state[ACTIVE_IMAGE_KEY] = current
        remember(SAMPLE_KEY, current.name)
        st.session_state[SAMPLE_KEY] = current.name
    with st.sidebar:
        st.divider()
        st.markdown(tr("**Image**", "**画像**"))
        restore_widget(SOURCE_KEY, SAMPLE_SOURCE)
        source = st.segmented_control(  # not a radio: its labels change with the language, its values do not
            tr("Image source", "画像の入手元"),
            [SAMPLE_SOURCE, UPLOAD_SOURCE],
            key=SOURCE_KEY,
            required=True,
            format_func={
                SAMPLE_SOURCE: tr("Sample", "サンプル"),
                UPLOAD_SOURCE: tr("Upload", "アップロード"),
            }.__getitem__,
        )
        remember(SOURCE_KEY, source)
        if source == SAMPLE_SOURCE:
            restore_widget(SAMPLE_KEY, current.name if current.is_sample else default_sample(model_is_demo))
            st.selectbox(
                tr("Sample image", "サンプル画像"),
                list(SAMPLES),
                key=SAMPLE_KEY,
                on_change=_pick_sample,
                format_func={
                    name: f"{name} ({tr(sample.kind, KIND_JA.get(sample.kind, sample.kind))})"
                    for name, sample in SAMPLES.items()
                }.__getitem__,
                help=tr(
                    "Shape scenes suit the demo model; photos suit the official SAM models.",
                    "図形の画像はデモモデル向き、写真は公式の SAM モデル向きです。",
                ),
            )
            if not current.is_sample:  # back from Upload: the chosen sample is the image again
                current = from_sample(st.session_state[SAMPLE_KEY])
                st.session_state[ACTIVE_IMAGE_KEY] = current
        else:
            restore_widget(DOWNSCALE_KEY, True)
            shrink = st.checkbox(
                tr(
                    f"Downscale large images to {DEFAULT_DOWNSCALE_SIDE} px",
                    f"大きな画像を {DEFAULT_DOWNSCALE_SIDE} px に縮小",
                ),
                key=DOWNSCALE_KEY,
                help=tr(
                    "SAM looks at every image at 1024 px; larger images only make masks heavier and runs slower.",
                    "SAM はどの画像も 1024 px で見ます。それより大きいとマスクが重く、実行が遅くなるだけです。",
                ),
            )
            remember(DOWNSCALE_KEY, shrink)
            uploaded = st.file_uploader(
                tr("Upload an image", "画像をアップロード"), type=list(IMAGE_EXTENSIONS), key=UPLOAD_KEY
            )
            if uploaded is not None:
                upload_id = f"{uploaded.file_id}:{shrink}"
                if current.upload_id != upload_id and recall("failed_upload") != upload_id:
                    try:
                        current = from_upload(uploaded.name, uploaded.getvalue(), shrink, upload_id)
                    except ImageLoadError as error:
                        remember("failed_upload", upload_id)
                        remember("upload_error", str(error))
                    else:
                        remember("upload_error", None)
                        st.session_state[ACTIVE_IMAGE_KEY] = current
                if recall("failed_upload") == upload_id and recall("upload_error"):
                    st.error(
                        tr(
                            f"{recall('upload_error')}. The previous image is still in use.",
                            f"{recall('upload_error')}。以前の画像を使い続けます。",
                        ),
                        icon=":material/block:",
                    )
        # Encoded once per image: Streamlit would encode the array again on every rerun.
        thumbnail = memo(("sidebar_image", current.key), lambda: _jpeg(current.pixels))
        st.image(thumbnail, caption=f"{current.name}: {current.size_text()}", width="stretch")
        for note in current.notes:
            st.caption(tr(f"Note: {note}", f"注: {note}"))
        if not current.is_sample and max(current.pixels.shape[:2]) > DEFAULT_DOWNSCALE_SIDE * 2:
            st.warning(
                tr(
                    "This image is large: runs are slow and masks take much memory. Tick downscale above.",
                    "大きな画像です。実行が遅く、マスクが多くのメモリを使います。上の縮小にチェックを入れてください。",
                )
            )
    return current

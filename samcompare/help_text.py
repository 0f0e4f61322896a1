"""Help for every generator parameter (and the post-filters beyond it), in English and Japanese: one place the
UI and CLI read."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class ParameterHelp:
    label: dict[str, str]
    text: dict[str, str]


PARAMETER_HELP: dict[str, ParameterHelp] = {
    "points_per_side": ParameterHelp(
        {"en": "Points per side", "ja": "一辺あたりの点数"},
        {
            "en": "Prompts the model with a grid of points_per_side² points. Denser grids find smaller "
            "objects but cost time: 32 gives 1024 prompts. Leave empty when giving point_grids.",
            "ja": "points_per_side² 個の格子点でモデルにプロンプトを与えます。密にすると小さな物体も"
            "見つかりますが時間がかかります（32 なら 1024 点）。point_grids を指定する場合は空にします。",
        },
    ),
    "points_per_batch": ParameterHelp(
        {"en": "Points per batch", "ja": "バッチあたりの点数"},
        {
            "en": "How many points the decoder runs at once. Larger is faster but needs more (GPU) memory; "
            "results differ only in the last bits of floating point.",
            "ja": "デコーダが一度に処理する点の数。大きいほど高速ですが（GPU）メモリを多く使います。"
            "結果の違いは浮動小数点の末尾の桁だけです。",
        },
    ),
    "pred_iou_thresh": ParameterHelp(
        {"en": "Predicted IoU threshold", "ja": "予測 IoU しきい値"},
        {
            "en": "Drops masks whose predicted_iou (the model's own quality estimate) is below this. "
            "Raise it (e.g. 0.98) for fewer, more reliable masks; lower it if objects are missed.",
            "ja": "predicted_iou（モデル自身による品質推定）がこの値未満のマスクを捨てます。上げる"
            "（例: 0.98）と少数の信頼できるマスクに、物体が見落とされるなら下げます。",
        },
    ),
    "stability_score_thresh": ParameterHelp(
        {"en": "Stability score threshold", "ja": "安定度スコアしきい値"},
        {
            "en": "Drops masks whose stability_score is below this: masks that change a lot when the "
            "logit cut-off moves are ambiguous. Trades recall for precision, like pred_iou_thresh.",
            "ja": "stability_score がこの値未満のマスクを捨てます。ロジットのしきい値を動かすと大きく"
            "変わるマスクは曖昧だからです。pred_iou_thresh と同様に再現率と適合率を交換します。",
        },
    ),
    "stability_score_offset": ParameterHelp(
        {"en": "Stability score offset", "ja": "安定度スコアのオフセット"},
        {
            "en": "How far the logit cut-off is moved (up and down) when computing the stability score.",
            "ja": "安定度スコアを計算するときにロジットのしきい値を上下に動かす幅です。",
        },
    ),
    "box_nms_thresh": ParameterHelp(
        {"en": "Box NMS threshold", "ja": "ボックス NMS しきい値"},
        {
            "en": "Box IoU above which duplicate masks are suppressed (the higher-scoring one is kept). "
            "Lower it to remove more near-duplicates.",
            "ja": "重複マスクを抑制するボックス IoU のしきい値（スコアの高い方を残します）。下げると"
            "似たマスクがより多く除かれます。",
        },
    ),
    "crop_n_layers": ParameterHelp(
        {"en": "Crop layers", "ja": "クロップ層の数"},
        {
            "en": "If above 0, runs again on crops of the image: layer i has (2^i)² crops. Splits objects "
            "merged at full scale and finds small ones; time and memory grow fast, so 2 at most.",
            "ja": "0 より大きいと画像の切り抜き（クロップ）でも再実行します。層 i には (2^i)² 個の"
            "クロップがあります。全体では一つに見えた物体を分け、小物体も見つけますが、時間とメモリが"
            "急増するので 2 までにします。",
        },
    ),
    "crop_nms_thresh": ParameterHelp(
        {"en": "Crop NMS threshold", "ja": "クロップ間 NMS しきい値"},
        {
            "en": "Box IoU for suppressing duplicates between crops; masks from smaller crops lose.",
            "ja": "クロップ間の重複を抑制するボックス IoU。小さいクロップのマスクが負けます。",
        },
    ),
    "crop_overlap_ratio": ParameterHelp(
        {"en": "Crop overlap ratio", "ja": "クロップの重なり率"},
        {
            "en": "How much neighbouring crops overlap, as a fraction of the image length in the first "
            "crop layer (scaled down in later layers).",
            "ja": "隣り合うクロップの重なり。最初のクロップ層での画像の長さに対する割合です"
            "（後の層では縮小されます）。",
        },
    ),
    "crop_n_points_downscale_factor": ParameterHelp(
        {"en": "Crop points downscale factor", "ja": "クロップ点数の縮小率"},
        {
            "en": "Points per side in crop layer n are points_per_side divided by this to the power n. "
            "Must be at least 1.",
            "ja": "クロップ層 n の一辺あたりの点数は points_per_side をこの値の n 乗で割ったものです。"
            "1 以上が必要です。",
        },
    ),
    "point_grids": ParameterHelp(
        {"en": "Point grids", "ja": "点グリッド"},
        {
            "en": "Explicit point grids with coordinates in [0, 1], one per crop layer; replaces points_per_side.",
            "ja": "座標が [0, 1] の明示的な点グリッド。クロップ層ごとに一つ。points_per_side の代わりです。",
        },
    ),
    "min_mask_region_area": ParameterHelp(
        {"en": "Min mask region area", "ja": "最小領域面積"},
        {
            "en": "SAM: if above 0, removes islands and fills holes smaller than this many pixels of the image in "
            "every mask that survived NMS (needs OpenCV), then removes duplicates again. It never drops a mask "
            "for being small. SAM 2.1: the same number means something else: holes and islands of at most this "
            "many pixels of the 256 x 256 low-res logits (about 16 x 16 image pixels each at 1024 px) are "
            "flipped before up-scaling, by SAM 2's CUDA extension; where it is not built (any CPU machine) the "
            "official generator skips it and so does samcompare: the value then changes nothing.",
            "ja": "SAM: 0 より大きいと、NMS を通った各マスクから画像上のこのピクセル数未満の島を取り除き穴を"
            "埋めます（OpenCV が必要）。その後もう一度重複を除きます。小さいマスクを捨てるわけではありません。"
            "SAM 2.1: 同じ数値でも意味が違います。256 × 256 の低解像度ロジット上でこのピクセル数以下の穴と島を、"
            "拡大する前に SAM 2 の CUDA 拡張で反転します（1024 px なら 1 画素が画像の約 16 × 16 画素）。"
            "拡張がビルドされていない環境（CPU のマシン）では公式の生成器も samcompare も処理を省くため、"
            "値を変えても結果は変わりません。",
        },
    ),
    "output_mode": ParameterHelp(
        {"en": "Output mode", "ja": "出力形式"},
        {
            "en": "binary_mask (dense arrays: much memory at high resolution), uncompressed_rle, or coco_rle "
            "(needs pycocotools).",
            "ja": "binary_mask（密な配列。高解像度ではメモリを多く使います）、uncompressed_rle、"
            "coco_rle（pycocotools が必要）。",
        },
    ),
    # SAM2AutomaticMaskGenerator's own parameters (a SAM model refuses values other than their defaults).
    "mask_threshold": ParameterHelp(
        {"en": "Mask threshold (SAM 2)", "ja": "マスクしきい値（SAM 2）"},
        {
            "en": "SAM 2.1 only: the logit cut-off that makes a mask binary and that the stability score is "
            "computed around. SAM's generator has no such argument: there it is the model's own, always 0.",
            "ja": "SAM 2.1 のみ: マスクを二値化し、安定度スコアの基準となるロジットのしきい値です。SAM の生成器に"
            "この引数はなく、モデル固有の 0 に固定されています。",
        },
    ),
    "use_m2m": ParameterHelp(
        {"en": "Mask-to-mask refinement (SAM 2)", "ja": "マスクによる再推定（SAM 2）"},
        {
            "en": "SAM 2.1 only: decodes every candidate a second time, with its own low-res mask as the prompt "
            "and a single output, before any threshold, and keeps the second pass's mask and score. Often cleaner "
            "masks; costs a second decoder pass (about 3 times the decoder time). SAM has no such step.",
            "ja": "SAM 2.1 のみ: すべての候補を、しきい値より前に、自身の低解像度マスクをプロンプトにして単一出力で"
            "もう一度デコードし、その結果のマスクとスコアを使います。マスクがきれいになることが多い一方、デコーダの"
            "時間が約 3 倍かかります。SAM にはこの処理はありません。",
        },
    ),
    "multimask_output": ParameterHelp(
        {"en": "Three masks per point (SAM 2)", "ja": "1 点につき 3 マスク（SAM 2）"},
        {
            "en": "SAM 2.1 only: on (the default), each point gives three candidate masks (whole, part, "
            "subpart); off, one mask per point, a third of the candidates. SAM's generator always uses three.",
            "ja": "SAM 2.1 のみ: オン（既定）では 1 点から 3 つの候補マスク（全体・部分・細部）を得ます。オフでは"
            "1 点につき 1 マスクで、候補は 3 分の 1 になります。SAM の生成器は常に 3 つです。",
        },
    ),
    # Beyond SamAutomaticMaskGenerator: samcompare's post-filters, applied to the official output.
    "max_mask_region_area": ParameterHelp(
        {"en": "Max mask area (beyond SAM)", "ja": "最大マスク面積（SAM の範囲外）"},
        {
            "en": "Not a parameter of SamAutomaticMaskGenerator: samcompare drops, after the official pipeline, "
            "masks larger than this: a number of pixels (5000) or a percentage of the image (40%). Removes the "
            "background and other huge masks (segment-anything #309). Empty: no limit.",
            "ja": "SamAutomaticMaskGenerator の引数ではありません。公式の処理の後で samcompare が、これより"
            "大きいマスクを捨てます。ピクセル数（5000）または画像に対する割合（40%）で指定します。背景などの"
            "巨大なマスクを除けます（segment-anything #309）。空欄なら制限なし。",
        },
    ),
    "drop_border_masks": ParameterHelp(
        {"en": "Drop border masks (beyond SAM)", "ja": "画像の縁に触れるマスクを除く（SAM の範囲外）"},
        {
            "en": "Not a parameter of SamAutomaticMaskGenerator: samcompare drops, after the official pipeline, "
            "masks with a pixel in the image's first or last row or column (objects cut off by the frame).",
            "ja": "SamAutomaticMaskGenerator の引数ではありません。公式の処理の後で samcompare が、画像の"
            "最初または最後の行・列に画素を持つマスク（枠で切れた物体）を捨てます。",
        },
    ),
    "top_k": ParameterHelp(
        {"en": "Keep top k (beyond SAM)", "ja": "上位 k 個を残す（SAM の範囲外）"},
        {
            "en": "Not a parameter of SamAutomaticMaskGenerator: samcompare keeps, after the official pipeline "
            "and the two filters above, only the k masks of highest predicted_iou (ties: the earlier first), "
            "in the generator's order. Empty or 0: keep all.",
            "ja": "SamAutomaticMaskGenerator の引数ではありません。公式の処理と上の二つのフィルタの後で"
            "samcompare が、predicted_iou の高い k 個のマスクだけを生成器の順序のまま残します（同点は先の"
            "ものを優先）。空欄または 0 ならすべて残します。",
        },
    ),
}


def parameter_help(name: str, language: str = "en") -> str:
    return PARAMETER_HELP[name].text[language]


def parameter_label(name: str, language: str = "en") -> str:
    return PARAMETER_HELP[name].label[language]

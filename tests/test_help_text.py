from samcompare.config import ALL_PARAMETERS, POST_FILTER_PARAMETERS
from samcompare.help_text import LANGUAGES, PARAMETER_HELP, parameter_help, parameter_label


def test_every_parameter_has_help_in_both_languages():
    assert set(PARAMETER_HELP) == {*ALL_PARAMETERS, *POST_FILTER_PARAMETERS}
    for name in PARAMETER_HELP:
        for language in LANGUAGES:
            assert len(parameter_help(name, language)) > 20
            assert parameter_label(name, language)
    assert any("\u3040" <= ch <= "\u30ff" for ch in parameter_help("pred_iou_thresh", "ja"))


def test_post_filters_say_they_are_beyond_the_official_generator():
    for name in POST_FILTER_PARAMETERS:
        assert "Not a parameter of SamAutomaticMaskGenerator" in parameter_help(name, "en")
        assert "SamAutomaticMaskGenerator の引数ではありません" in parameter_help(name, "ja")
        assert "SAM" in parameter_label(name, "en") and "SAM" in parameter_label(name, "ja")


def test_the_families_differences_are_explained_where_values_are_set():
    for language in LANGUAGES:
        area = parameter_help("min_mask_region_area", language)
        assert "SAM 2" in area and "256" in area  # the same number means another thing in each family
        for name in ("mask_threshold", "use_m2m", "multimask_output"):
            assert "SAM 2" in parameter_label(name, language) and "SAM" in parameter_help(name, language)

from samcompare.config import GENERATOR_PARAMETERS
from samcompare.help_text import LANGUAGES, PARAMETER_HELP, parameter_help, parameter_label


def test_every_parameter_has_help_in_both_languages():
    assert set(PARAMETER_HELP) == set(GENERATOR_PARAMETERS)
    for name in GENERATOR_PARAMETERS:
        for language in LANGUAGES:
            assert len(parameter_help(name, language)) > 20
            assert parameter_label(name, language)
    assert any("\u3040" <= ch <= "\u30ff" for ch in parameter_help("pred_iou_thresh", "ja"))

"""Fidelity: one value for epochs, image size and data fraction, parsed and checked once, compared part by part."""
import pytest

from necksearch.errors import NeckSearchError
from necksearch.train.fidelity import MAX_IMAGE_SIZE, Fidelity


def test_a_spelled_fidelity_parses_to_its_parts_and_back():
    fidelity = Fidelity.parse(" 3, 160 ,0.5", "--fidelity")
    assert fidelity == Fidelity(3, 160, 0.5)
    assert fidelity.as_dict() == {"epochs": 3, "image_size": 160, "data_fraction": 0.5}
    assert Fidelity.of({**fidelity.as_dict(), "config": "x.py", "seed": 2}) == fidelity  # a trial's attribute


@pytest.mark.parametrize("text, message", [("3,160", "EPOCHS,IMAGE_SIZE,DATA_FRACTION"),
                                           ("3,160,half", "EPOCHS,IMAGE_SIZE,DATA_FRACTION"),
                                           ("0,160,1", "--epochs must be at least 1"),
                                           ("3,31,1", f"--image-size must be between 32 and {MAX_IMAGE_SIZE}"),
                                           (f"3,{MAX_IMAGE_SIZE + 1},1", "--image-size must be between"),
                                           ("3,160,0", r"--data-fraction must be in \(0, 1\]")])
def test_a_bad_spelling_names_the_option_and_the_part(text, message):
    with pytest.raises(NeckSearchError, match=message) as caught:
        Fidelity.parse(text, "--high")
    assert str(caught.value).startswith(f"--high {text!r}: ")


def test_lower_parts_compare_only_what_both_set():
    low, high = Fidelity(3, 128, 1.0), Fidelity(3, 160, 0.5)
    assert low.lower_parts(high) == ["image_size"] and high.lower_parts(low) == ["data_fraction"]
    assert Fidelity(3, None, 1.0).lower_parts(high) == []  # the config's own image size is not compared


def test_it_is_described_in_words():
    assert Fidelity(3, 128, 1.0).describe() == "3 ep, 128², all the data"
    assert Fidelity(3, 160, 0.5).describe() == "3 ep, 160², 0.5 of the data"
    assert Fidelity().describe() == "the config's epochs, the config's image size, all the data"

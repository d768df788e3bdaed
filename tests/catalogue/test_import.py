"""The catalogue sits below every other layer: importing it loads no torch and no other module of necksearch."""
from tests.helpers import modules_after


def test_importing_the_catalogue_loads_nothing_else_of_necksearch_and_no_torch():
    loaded = modules_after("import necksearch.catalogue.tables")
    ours = {m for m in loaded if m.startswith("necksearch.")}
    assert {m for m in ours if m.split(".")[1] != "catalogue"} == {"necksearch.errors"}
    assert not any(m.split(".")[0] in ("torch", "torchvision") for m in loaded)

"""The search-space layer is pure data: importing it loads neither torch nor Optuna, and
``import necksearch`` stays light while offering ``load_space`` and ``load_preset`` lazily."""
import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_necksearch_space_loads_no_torch_and_no_optuna():
    code = """
import sys, necksearch.space
space = necksearch.space.load_space('augfpn')
graph = space.freeze({'lateral/rfa': True, 'lateral/rfa/fusion': 'asf', 'lateral/rfa/ratios': '(.1,.2,.3)',
                      'detector/roi_extractor': 'srs', 'detector/consistent_supervision': 0.25})
space.freeze(space.sample_of(graph)).validate()
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'optuna')
             or m.startswith(('necksearch.ops', 'necksearch.nn')))
print(bad)
sys.exit(1 if bad else 0)
"""
    result = _run(code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_necksearch_is_light_and_exposes_load_space_and_load_preset_lazily():
    code = ("import sys, necksearch; before = sorted(m for m in sys.modules if m.startswith('necksearch')); "
            "assert before == ['necksearch'], before; assert 'yaml' not in sys.modules; "
            "from necksearch.space import load_space; from necksearch.graph.presets import load_preset; "
            "assert necksearch.load_space is load_space and necksearch.load_preset is load_preset; "
            "assert 'load_space' in dir(necksearch); "
            "assert not any(m.split('.')[0] == 'torch' for m in sys.modules)")
    result = _run(code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_attribute_of_necksearch_is_an_attribute_error():
    result = _run("import necksearch\ntry:\n    necksearch.nope\nexcept AttributeError as e:\n    print(e)\n"
                  "else:\n    raise SystemExit(1)")
    assert result.returncode == 0 and "nope" in result.stdout, result.stdout + result.stderr

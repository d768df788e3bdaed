"""The graph layer is pure data: importing it loads no torch."""
import subprocess
import sys


def test_importing_necksearch_graph_does_not_import_torch():
    code = ("import sys, necksearch.graph, necksearch.graph.graph; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision') "
            "or m.startswith('necksearch.ops')); print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

"""The graph layer is pure data: importing it loads no torch, and of the operations only their records."""
import subprocess
import sys

#: The torch-free part of ``necksearch.ops``: the lazy package itself, the records and the slots.
TORCH_FREE_OPS = {"necksearch.ops", "necksearch.ops.record", "necksearch.ops.slot"}


def test_importing_necksearch_graph_does_not_import_torch():
    code = ("import sys, necksearch.graph, necksearch.graph.graph, necksearch.space; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision') "
            f"or (m.startswith('necksearch.ops') and m not in {sorted(TORCH_FREE_OPS)!r})); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

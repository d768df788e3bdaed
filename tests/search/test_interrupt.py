"""necksearch.search.interrupt: a Ctrl-C reaches a driver that waits on Ray work (Ray alone loses it)."""
import signal
import subprocess
import sys
import time

import pytest

DRIVER = """
import time, ray
from necksearch.search.interrupt import get_all
ray.init(address="local", num_cpus=1, include_dashboard=False)
task = ray.remote(num_cpus=1)(lambda: time.sleep(120))
refs = [task.remote()]
print("waiting", flush=True)
started = time.time()
try:
    get_all(refs)
    print("returned after %.0f s" % (time.time() - started), flush=True)
except KeyboardInterrupt:
    print("interrupted after %.1f s" % (time.time() - started), flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_interrupts_a_driver_waiting_on_ray_work():
    process = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        line = process.stdout.readline().strip()
        process.wait(timeout=60)
    finally:
        process.kill()
    assert line.startswith("interrupted after"), line
    assert float(line.split()[2]) < 10, line

"""Every module imports without a display and without the network (doctest collection imports them all)."""

import os
import pkgutil
import subprocess
import sys

import loyalty_lib

PROBE = r"""
import importlib, pkgutil, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network used at import")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
import loyalty_lib
names = [m.name for m in pkgutil.walk_packages(loyalty_lib.__path__, "loyalty_lib.")]
for name in names:
    importlib.import_module(name)
import matplotlib
print(len(names), matplotlib.get_backend())
"""


def test_every_module_imports_without_display_or_network(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"MPLBACKEND", "WAYLAND_DISPLAY"}}
    env["DISPLAY"] = ":99"  # a display that does not exist
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    n = len(list(pkgutil.walk_packages(loyalty_lib.__path__, "loyalty_lib.")))
    assert out.stdout.split()[0] == str(n) and n > 30

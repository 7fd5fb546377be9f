"""robocritic.ros is the ROS 2 runtime only. The source-level rule (no import of another part of
robocritic but the bounded YAML reader) is in tests/test_import_direction.py; this checks what
actually loads at run time: the reader and its package, nothing else (not numpy through
``robocritic.utils``)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_runtime_loads_nothing_else_of_robocritic():
    code = (
        "import json, sys\n"
        "import robocritic.ros.transport, robocritic.ros.launcher, robocritic.ros.msgs, robocritic.ros.bag\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('robocritic'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(out.stdout.splitlines()[-1])
    assert "robocritic.ros.transport" in loaded  # the probe imported what it says
    allowed = {"robocritic", "robocritic.utils", "robocritic.utils.safe_yaml"}
    assert [m for m in loaded if m not in allowed and not m.startswith("robocritic.ros")] == []

"""Run a ctx hook with nothing but the standard library: python3 run.py pre-tool-use < event.json"""

import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("ctx_hooks", os.path.join(_HERE, "__init__.py"),
                                               submodule_search_locations=[_HERE])
_package = importlib.util.module_from_spec(_spec)
sys.modules["ctx_hooks"] = _package
_spec.loader.exec_module(_package)

from ctx_hooks.main import main  # noqa: E402

sys.exit(main(sys.argv[1:]))

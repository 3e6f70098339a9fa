"""Run a ctx hook with nothing but the standard library: python3 run.py pre-tool-use < event.json"""

import os
import sys

# The hooks folder becomes the package `ctx_hooks` without importlib.util (an import of its own on every
# tool call): a module with __path__ set is a package. Its __init__.py holds nothing but a docstring.
_HERE = os.path.dirname(os.path.abspath(__file__))
_package = type(sys)("ctx_hooks")
_package.__path__ = [_HERE]
_package.__file__ = os.path.join(_HERE, "__init__.py")
_package.__package__ = "ctx_hooks"
sys.modules["ctx_hooks"] = _package

from ctx_hooks.main import main  # noqa: E402

sys.exit(main(sys.argv[1:]))

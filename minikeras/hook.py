"""The import hook that makes `import keras` (and `keras.<sub>`) resolve to minikeras.

Off until asked for: `python -m minikeras script.py`, `%load_ext minikeras`, or `minikeras.hook.install()`.
Without it, `import keras` reaches real Keras, so the two can run side by side.
"""
import importlib
import importlib.abc
import importlib.util
import sys

_ALIASED_ROOTS = ("keras",)


def _target(fullname):
    for root in _ALIASED_ROOTS:
        if fullname == root or fullname.startswith(root + "."):
            return "minikeras" + fullname[len(root):]
    return None


class _KerasAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `keras.x.y` as the already-importable `minikeras.x.y` module object itself."""

    def find_spec(self, fullname, path, target=None):
        target_name = _target(fullname)
        if target_name is None:
            return None
        if importlib.util.find_spec(target_name) is None:
            raise ModuleNotFoundError(
                f"No module named '{fullname}': minikeras has no '{target_name}' yet "
                f"(the import hook maps '{fullname}' to '{target_name}').", name=fullname)
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        return importlib.import_module(_target(spec.name))

    def exec_module(self, module):
        module.__spec__ = importlib.util.find_spec(module.__name__)


_FINDER = _KerasAliasFinder()
_set_aside = {}


def _take_aliased_modules():
    return {name: sys.modules.pop(name) for name in [n for n in sys.modules if _target(n)]}


def install():
    """Make `keras` and `keras.<sub>` imports resolve to minikeras from now on (idempotent).

    Real Keras modules already imported are set aside, not discarded: re-importing TensorFlow's
    Keras after `uninstall()` would register its ops twice.
    """
    if _FINDER not in sys.meta_path:
        _set_aside.update(_take_aliased_modules())
        sys.meta_path.insert(0, _FINDER)


def uninstall():
    """Undo `install()`: `import keras` reaches real Keras again (the very modules set aside)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
        _take_aliased_modules()
        sys.modules.update(_set_aside)
        _set_aside.clear()


def load_ipython_extension(ipython):
    """`%load_ext minikeras` in Jupyter/IPython."""
    install()

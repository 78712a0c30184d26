"""The import hook that makes `keras`, `keras.<sub>` and `tensorflow.keras.<sub>` resolve to minikeras.

Off until asked for: `python -m minikeras script.py`, `%load_ext minikeras`, or, in plain Python,

    import minikeras.hook
    minikeras.hook.install()

Without it, `import keras` reaches real Keras, so the two can run side by side. While it is on:
- `keras.x.y` and `tensorflow.keras.x.y` are the very module objects `minikeras.x.y`;
- with TensorFlow installed, `import tensorflow` is real TensorFlow, except that its `keras` attribute
  is minikeras (so `from tensorflow import keras` and `tf.keras.layers.Dense` are minikeras's);
- without TensorFlow, `import tensorflow` gives a stand-in whose only content is `keras`.
`uninstall()` puts every real module and TensorFlow's own `keras` attribute back.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import types

_ALIASES = {"keras": "minikeras", "tensorflow.keras": "minikeras"}
_TENSORFLOW = "tensorflow"
_NOT_SET = object()


def _target(fullname):
    for root, target in _ALIASES.items():
        if fullname == root or fullname.startswith(root + "."):
            return target + fullname[len(root):]
    return None


def _stand_in_getattr(name):
    raise AttributeError(
        f"module 'tensorflow' has no attribute '{name}': TensorFlow is not installed, and minikeras only "
        f"provides tensorflow.keras (pip install tensorflow for the rest)")


def _is_stand_in(module):
    return getattr(module, "__getattr__", None) is _stand_in_getattr


class _KerasAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `keras.x.y` and `tensorflow.keras.x.y` as the already-importable `minikeras.x.y` module object
    itself, and `tensorflow` as real TensorFlow (whose `keras` then points at minikeras) or a stand-in."""

    def find_spec(self, fullname, path, target=None):
        if fullname == _TENSORFLOW:
            return self._tensorflow_spec()
        target_name = _target(fullname)
        if target_name is None:
            if fullname.startswith(_TENSORFLOW + ".") and _is_stand_in(sys.modules.get(_TENSORFLOW)):
                raise ModuleNotFoundError(
                    f"No module named '{fullname}': TensorFlow is not installed, and minikeras only provides "
                    f"tensorflow.keras", name=fullname)
            return None
        target_spec = importlib.util.find_spec(target_name)
        if target_spec is None:
            raise ModuleNotFoundError(
                f"No module named '{fullname}': minikeras has no '{target_name}' yet "
                f"(the import hook maps '{fullname}' to '{target_name}').", name=fullname)
        return importlib.util.spec_from_loader(
            fullname, self, is_package=target_spec.submodule_search_locations is not None)

    def _tensorflow_spec(self):
        real_spec = _spec_from_other_finders(_TENSORFLOW)
        if real_spec is None:
            return importlib.util.spec_from_loader(_TENSORFLOW, self, is_package=True)
        real_spec.loader = _TensorFlowLoader(real_spec.loader)
        return real_spec

    def create_module(self, spec):
        if spec.name == _TENSORFLOW:
            return _tensorflow_stand_in()
        return importlib.import_module(_target(spec.name))

    def exec_module(self, module):
        if not _is_stand_in(module):
            module.__spec__ = importlib.util.find_spec(module.__name__)


class _TensorFlowLoader(importlib.abc.Loader):
    """Loads real TensorFlow with its own loader, then points its `keras` attribute at minikeras.

    TensorFlow's `__init__` sets `keras` to a lazy loader that would import real Keras on first use;
    that loader is kept aside and put back by `uninstall()`.
    """

    def __init__(self, real_loader):
        self.real_loader = real_loader

    def create_module(self, spec):
        return self.real_loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.real_loader
        self.real_loader.exec_module(module)
        _point_tensorflow_keras_at_minikeras(module)


def _spec_from_other_finders(fullname):
    for finder in sys.meta_path:
        if finder is not _FINDER and hasattr(finder, "find_spec"):
            spec = finder.find_spec(fullname, None)
            if spec is not None:
                return spec
    return None


def _tensorflow_stand_in():
    module = types.ModuleType(_TENSORFLOW, "Stand-in for TensorFlow, which is not installed: only `keras`.")
    module.__path__ = []
    module.__getattr__ = _stand_in_getattr
    module.keras = importlib.import_module("minikeras")
    return module


_FINDER = _KerasAliasFinder()
_set_aside = {}
# TensorFlow's own `keras` attribute (its lazy loader, or real Keras once loaded), kept while the hook is on.
_tensorflow_keras_set_aside = {}


def _take_aliased_modules():
    return {name: sys.modules.pop(name) for name in [n for n in sys.modules if _target(n)]}


def _point_tensorflow_keras_at_minikeras(tensorflow):
    _tensorflow_keras_set_aside.setdefault("keras", vars(tensorflow).get("keras", _NOT_SET))
    tensorflow.keras = importlib.import_module("minikeras")


def _restore_tensorflow():
    tensorflow = sys.modules.get(_TENSORFLOW)
    if _is_stand_in(tensorflow):
        del sys.modules[_TENSORFLOW]
    elif tensorflow is not None and _tensorflow_keras_set_aside:
        original = _tensorflow_keras_set_aside["keras"]
        if original is _NOT_SET:
            vars(tensorflow).pop("keras", None)
        else:
            tensorflow.keras = original
    _tensorflow_keras_set_aside.clear()


def install():
    """Make `keras`, `keras.<sub>` and `tensorflow.keras.<sub>` imports resolve to minikeras (idempotent).

    Real Keras modules already imported are set aside, not discarded: re-importing TensorFlow's
    Keras after `uninstall()` would register its ops twice. TensorFlow imported already gets its
    `keras` attribute pointed at minikeras now; TensorFlow imported later, when it loads.
    """
    if _FINDER not in sys.meta_path:
        _set_aside.update(_take_aliased_modules())
        sys.meta_path.insert(0, _FINDER)
        if _TENSORFLOW in sys.modules:
            _point_tensorflow_keras_at_minikeras(sys.modules[_TENSORFLOW])


def uninstall():
    """Undo `install()`: `import keras` and `tf.keras` reach real Keras again (the very objects set aside)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
        _take_aliased_modules()
        _restore_tensorflow()
        sys.modules.update(_set_aside)
        _set_aside.clear()


def load_ipython_extension(ipython):
    """`%load_ext minikeras` in Jupyter/IPython."""
    install()


def unload_ipython_extension(ipython):
    """`%unload_ext minikeras` in Jupyter/IPython."""
    uninstall()

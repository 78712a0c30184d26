"""Keras 2 layer modules: names minikeras has elsewhere are handed out on first use, and those it does not
have yet fail on import, naming them."""


def missing_layer_getattr(module_name, layer_names, family, elsewhere=None):
    """A module `__getattr__` raising ImportError for `layer_names` (so `from ... import *` fails too), and
    handing out the layers `elsewhere` maps to the minikeras.layers module defining them."""
    def __getattr__(name):
        if elsewhere and name in elsewhere:
            import importlib

            return getattr(importlib.import_module(f"minikeras.layers.{elsewhere[name]}"), name)
        if name in layer_names:
            raise ImportError(
                f"cannot import name '{name}' from '{module_name}': minikeras has no {family} layers yet.",
                name=module_name)
        raise AttributeError(f"module '{module_name}' has no attribute '{name}'")
    return __getattr__

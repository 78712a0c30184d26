"""Keras 2 layer modules whose layers minikeras does not have yet: importing one fails, naming it."""


def missing_layer_getattr(module_name, layer_names, family):
    """A module `__getattr__` raising ImportError for `layer_names` (so `from ... import *` fails too)."""
    def __getattr__(name):
        if name in layer_names:
            raise ImportError(
                f"cannot import name '{name}' from '{module_name}': minikeras has no {family} layers yet.",
                name=module_name)
        raise AttributeError(f"module '{module_name}' has no attribute '{name}'")
    return __getattr__

"""Custom classes and functions made known to deserialization: `register_keras_serializable`, the
process-wide registry, and `custom_object_scope` for names valid only inside a `with` block.

A registered object is stored under the key "package>name"; Keras writes that key in a config's
`registered_name`, so a config written by Keras for a registered class finds the same class here.
"""
import inspect
import threading

GLOBAL_CUSTOM_OBJECTS = {}
GLOBAL_CUSTOM_NAMES = {}

# Like Keras's global state, a scope is per thread: a scope opened in one thread never leaks into another.
_SCOPE = threading.local()


def _scope_objects():
    return getattr(_SCOPE, "objects", {})


class CustomObjectScope:
    """`with CustomObjectScope({"MyLayer": MyLayer}):` deserialization inside the block also finds
    these names. Entering replaces the outer scope's names; leaving puts them back."""

    def __init__(self, custom_objects):
        self.custom_objects = custom_objects or {}
        self.backup = None

    def __enter__(self):
        self.backup = dict(_scope_objects())
        _SCOPE.objects = dict(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        _SCOPE.objects = self.backup


custom_object_scope = CustomObjectScope


def scope_with(custom_objects):
    """A scope adding `custom_objects` to the active one's names: nested configs (a model's layers)
    rebuilt inside it see the objects passed for the outer one, as in Keras."""
    return CustomObjectScope({**(custom_objects or {}), **_scope_objects()})


def get_custom_objects():
    """The live process-wide registry ({registered name: object}); scoped names are not in it."""
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class (which must have `get_config`) or a function under "package>name",
    `name` defaulting to the object's own name."""

    def decorator(obj):
        if not (inspect.isclass(obj) or callable(obj)):
            raise TypeError("`register_keras_serializable` decorates a class or a function. "
                            f"Received: {obj!r} (of type {type(obj).__name__})")
        registered_name = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
        GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj):
    """The name `obj` is registered under, or its plain `__name__` when it is not registered."""
    return GLOBAL_CUSTOM_NAMES.get(obj, obj.__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object known as `name`: looked up in the active scope, then the registry, then
    `custom_objects`, then `module_objects`; None when none has it."""
    for table in (_scope_objects(), GLOBAL_CUSTOM_OBJECTS, custom_objects, module_objects):
        if table and name in table:
            return table[name]
    return None

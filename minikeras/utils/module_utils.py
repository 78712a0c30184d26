"""Lazy exports: a package names what it offers, and each module loads on first use (keeps `import minikeras` fast)."""
import importlib


def lazy_exports(package, exports):
    """`__getattr__` and `__dir__` for `package`: `exports` maps a public name to "module" (the submodule
    itself) or "module:attribute", both relative to the package."""

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = exports[name].partition(":")
        module = importlib.import_module(f"{package}.{module_name}")
        return getattr(module, attribute) if attribute else module

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__

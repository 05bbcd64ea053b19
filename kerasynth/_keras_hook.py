"""Register kerasynth's models with Keras as soon as Keras is imported.

``keras.saving.load_model("run/model.keras")`` finds a custom class only if
it was registered, i.e. if its module was imported. Importing
`kerasynth.models` costs TensorFlow's 4-5 s, which `import kerasynth` (and
``kerasynth --help``) must not pay, so the package registers its models when
Keras is there: at once if Keras is already imported, else right after
whoever imports Keras first has finished importing it (a one-shot
`sys.meta_path` finder that wraps the real loader of ``keras``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys


def _register_models() -> None:
    importlib.import_module("kerasynth.models")


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself: lends the ``keras`` spec a loader that imports
    `kerasynth.models` once the real loader has run, then steps aside. (It
    stays until then: TensorFlow asks `importlib.util.find_spec("keras")`
    before it imports Keras.)"""

    def __init__(self):
        self._looking = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" or self._looking:
            return None
        self._looking = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._looking = False
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _register_models()

        spec.loader = _Loader(spec.loader, exec_then_register)
        return spec


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, exec_module):
        self._loader, self._exec_module = loader, exec_module

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._exec_module(module)

    def __getattr__(self, name):  # is_package, get_code, ... of the real one
        return getattr(self._loader, name)


def install() -> None:
    """Registers the models now if Keras is imported, else after it is."""
    if "keras" in sys.modules:
        _register_models()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())

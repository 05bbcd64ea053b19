"""`@component`: a typed function in TFX's style, and the code that runs it.

A component's signature says everything: ``Input[T]`` arguments are the
artifacts it reads, ``Output[T]`` arguments the artifacts it writes (the
runner hands it empty folders), and the other keyword arguments are its
parameters (JSON-ready values).

```python
@component
def train(examples: Input[Examples], model: Output[Model], *, epochs: int = 10):
    ...  # write the run directory into model.uri
```

`execute` runs one: it looks up the cache (same component version, same
input fingerprints, same parameters: the recorded outputs are reused), else
runs the function into a staging folder, renames it into place, fingerprints
the outputs and records the execution in the lineage store. A failure
records the error and publishes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import shutil
import time
import traceback
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from kerasynth.components.artifacts import Artifact
from kerasynth.components.lineage import LineageStore

T = TypeVar("T", bound=Artifact)

# The default of a component parameter that has none: `execute` refuses to
# run the component without it.
REQUIRED = object()


class Input(Generic[T]):
    """Annotation: an input artifact of type ``T``."""


class Output(Generic[T]):
    """Annotation: an output artifact of type ``T``."""


@dataclasses.dataclass
class Component:
    """A component: its function, and what its signature declares."""

    name: str
    fn: Callable
    inputs: dict[str, type]
    outputs: dict[str, type]
    parameters: dict[str, Any]
    version: str

    def __call__(self, **kwargs):
        return self.fn(**kwargs)


def component(fn: Callable | None = None, *, version: str = "1") -> Any:
    """Declares a component from a typed function (see the module docstring).

    Args:
        fn: the function.
        version: bump it when the function's behaviour changes, so cached
            outputs of the old one are not reused.
    """

    def wrap(fn: Callable) -> Component:
        hints = typing.get_type_hints(fn)
        inputs, outputs, parameters = {}, {}, {}
        for name, parameter in inspect.signature(fn).parameters.items():
            hint = hints.get(name)
            origin = typing.get_origin(hint)
            if origin is Input:
                inputs[name] = typing.get_args(hint)[0]
            elif origin is Output:
                outputs[name] = typing.get_args(hint)[0]
            else:
                # As TFX: a parameter with no default must be given.
                parameters[name] = (
                    REQUIRED if parameter.default is inspect.Parameter.empty
                    else parameter.default
                )  # fmt: skip
        return Component(fn.__name__, fn, inputs, outputs, parameters, version)

    return wrap(fn) if fn is not None else wrap


def cache_key(comp: Component, inputs: dict[str, Artifact], parameters: dict) -> str:
    """What decides whether a component's recorded outputs can be reused."""
    import kerasynth

    payload = {
        "component": comp.name,
        "version": comp.version,
        "kerasynth": kerasynth.__version__,
        "inputs": {name: a.fingerprint for name, a in sorted(inputs.items())},
        "parameters": parameters,
    }
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


@dataclasses.dataclass
class Result:
    """What `execute` did: the outputs, and whether they came from cache."""

    outputs: dict[str, Artifact]
    cached: bool
    execution_id: int | None
    seconds: float


def execute(
    comp: Component,
    inputs: dict[str, Artifact],
    parameters: dict[str, Any],
    root: Path,
    store: LineageStore,
    versions: dict[str, str],
    use_cache: bool = True,
) -> Result:
    """Runs `comp` (or reuses its cached outputs) and records the run."""

    missing = sorted(set(comp.inputs) - set(inputs))
    if missing:
        raise ValueError(f"Component {comp.name} is missing input artifacts {missing}.")
    for name, artifact in inputs.items():
        if not artifact.path.exists():
            raise FileNotFoundError(
                f"Input artifact {name} of {comp.name} is gone: {artifact.uri}"
            )
    unknown = sorted(set(parameters) - set(comp.parameters))
    if unknown:
        raise ValueError(f"Component {comp.name} takes no parameters {unknown}.")
    parameters = {**comp.parameters, **parameters}
    required = sorted(name for name, value in parameters.items() if value is REQUIRED)
    if required:
        raise ValueError(f"Component {comp.name} needs the parameters {required}.")
    key = cache_key(comp, inputs, parameters)
    started = time.perf_counter()
    if use_cache:
        outputs = store.cached(key)
        if outputs is not None:
            return Result(outputs, True, None, time.perf_counter() - started)

    execution_id = store.start(comp.name, key, parameters, versions)
    folder = Path(root) / comp.name
    staging = folder / f".{execution_id}.partial"
    final = folder / str(execution_id)
    outputs = {name: cls(str(staging / name)) for name, cls in comp.outputs.items()}
    for artifact in outputs.values():
        artifact.path.mkdir(parents=True, exist_ok=True)
    try:
        comp.fn(**inputs, **outputs, **parameters)
        os.replace(staging, final)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        store.fail(execution_id, "".join(traceback.format_exception(error))[-2000:])
        raise
    for name, artifact in outputs.items():
        staged = str(staging / name)
        if artifact.uri == staged:  # written where the runner asked
            artifact.uri = str(final / name)
        artifact.seal()
    store.finish(execution_id, inputs, outputs)
    return Result(outputs, False, execution_id, time.perf_counter() - started)

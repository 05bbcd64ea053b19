"""Epsilon from noise, and noise from epsilon, with Google's `dp-accounting`.

Every mechanism here is Gaussian: a statistic of bounded L2 sensitivity
(how far one row, added or removed, can move it) released with Gaussian
noise of standard deviation ``noise_multiplier * sensitivity``. Several
releases compose; the Renyi DP accountant (Mironov 2017) of `dp-accounting`
adds them up and converts to ``(epsilon, delta)``.

References: I. Mironov, *Renyi Differential Privacy*, CSF 2017; B. Balle
and Y.-X. Wang, *Improving the Gaussian Mechanism for Differential Privacy:
Analytical Calibration and Optimal Denoising*, ICML 2018 (the exact epsilon
of one Gaussian mechanism, which the tests check the accountant against).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from importlib.metadata import version

# The budget's delta when none is given: below 1 / rows for any table we
# train on (OASIS-1 has 436 rows), as the usual rule asks.
DEFAULT_DELTA = 1e-5
NEIGHBOURING = "add or remove one row"


def accountant_name() -> str:
    return f"RDP (dp-accounting {version('dp-accounting')})"


def gaussian_event(noise_multipliers: Sequence[float]):
    """The `DpEvent` of Gaussian mechanisms run one after another, each
    with its noise multiplier (noise standard deviation / L2 sensitivity)."""
    import dp_accounting

    events = [dp_accounting.GaussianDpEvent(float(m)) for m in noise_multipliers]
    return events[0] if len(events) == 1 else dp_accounting.ComposedDpEvent(events)


@contextlib.contextmanager
def _quiet_orders():
    # The RDP accountant warns (through absl) for each fractional order whose
    # series does not converge, and leaves that order out: a bound is still
    # taken over the other orders, so the warnings are only noise in a run.
    # (absl also configures the root logger on its first message when that
    # has no handler, which would print every later log line twice: a
    # NullHandler stands in meanwhile.)
    from absl import logging as absl_logging

    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    stand_in = logging.NullHandler()
    logging.root.addHandler(stand_in)
    try:
        yield
    finally:
        logging.root.removeHandler(stand_in)
        absl_logging.set_verbosity(verbosity)


def epsilon(event, delta: float) -> float:
    """The epsilon of `event` at `delta` by the RDP accountant."""
    from dp_accounting import rdp

    check_delta(delta)
    with _quiet_orders():  # composing computes the orders
        return float(rdp.RdpAccountant().compose(event).get_epsilon(delta))


def calibrate(make_event, target_epsilon: float, delta: float) -> float:
    """The smallest noise multiplier ``m`` whose ``make_event(m)`` spends at
    most `target_epsilon` at `delta` (bisection by `dp-accounting`)."""
    import dp_accounting
    from dp_accounting import rdp

    check_epsilon(target_epsilon)
    check_delta(delta)
    with _quiet_orders():
        multiplier = dp_accounting.calibrate_dp_mechanism(
            rdp.RdpAccountant,
            make_event,
            target_epsilon,
            delta,
            dp_accounting.LowerEndpointAndGuess(1e-3, 1.0),
            tol=1e-4,
        )
    return float(multiplier)


def check_epsilon(value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"epsilon must be a number > 0. Received: epsilon={value!r}")


def check_delta(value) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (0 < value < 1)
    ):
        raise ValueError(f"delta must be a number in (0, 1). Received: delta={value!r}")

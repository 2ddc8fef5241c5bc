"""Analyses: what a case asks of a problem, as plug-ins registered in :data:`ANALYSES`.

Importing this package registers the built-in analyses (``stationary``, ``transient``, ``kwon``,
``exit_time``, ``mass_concentration``). A new analysis is one module defining a subclass of
:class:`~fpsolve.analyses.base.Analysis` decorated with :func:`~fpsolve.analyses.base.register`
(docs/cases.md, "Adding an analysis").
"""

import fpsolve.analyses.escape  # noqa: F401  (registers the ``escape`` analysis)
import fpsolve.analyses.relaxation  # noqa: F401  (registers the ``relaxation`` analysis)
import fpsolve.analyses.spectrum  # noqa: F401  (registers the ``spectrum`` analysis)
from fpsolve.analyses import exit_time, kwon, mass_concentration, stationary, transient
from fpsolve.analyses.base import (
    ANALYSES,
    Analysis,
    Context,
    FieldSeries,
    Result,
    Validation,
    check,
    register,
)

__all__ = [
    "ANALYSES",
    "Analysis",
    "Context",
    "FieldSeries",
    "Result",
    "Validation",
    "check",
    "exit_time",
    "kwon",
    "mass_concentration",
    "register",
    "stationary",
    "transient",
]
